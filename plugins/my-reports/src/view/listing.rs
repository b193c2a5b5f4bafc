//! The user's list as files: the numbered TXT list of v2, and CSV and JSON
//! exports. Newest first; every number is the report's stable number.

use std::fmt::Write;

use crate::storage::Report;
use crate::view::format;

/// The numbered TXT list.
pub fn txt(user_name: &str, generated: &str, heading: Option<&str>, reports: &[Report]) -> Vec<u8> {
    let total: u64 = reports.iter().map(|r| r.size_bytes).sum();
    let mut out = String::with_capacity(96 + reports.len() * 160);
    let _ = writeln!(out, "Мои отчеты — {user_name}");
    let _ = writeln!(out, "Сформировано: {generated}");
    if let Some(h) = heading {
        let _ = writeln!(out, "Фильтр: {h}");
    }
    let _ = writeln!(out, "Всего отчетов: {}, общий размер: {}", reports.len(), format::size(total));
    out.push('\n');
    for r in reports {
        let _ = writeln!(out, "№{}. {} — {}", r.number, format::date_time(&r.timestamp), r.title);
        let _ = writeln!(
            out,
            "     поиск: {}, размер: {}",
            format::search_type(&r.search_type),
            format::size(r.size_bytes)
        );
    }
    out.push('\n');
    out.push_str(
        "Чтобы посмотреть, переименовать или удалить отчет, нажмите кнопку под списком \
         и введите номер отчета (число после №).\n",
    );
    out.into_bytes()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// CSV with a UTF-8 byte-order mark, so spreadsheet programs read Cyrillic right.
pub fn csv(reports: &[Report]) -> Vec<u8> {
    let mut out = String::from("\u{feff}number,date,title,search_type,size_bytes,tokens\r\n");
    for r in reports {
        let _ = write!(
            out,
            "{},{},{},{},{},{}\r\n",
            r.number,
            r.timestamp.format("%Y-%m-%dT%H:%M:%S"),
            csv_field(&r.title),
            csv_field(&r.search_type),
            r.size_bytes,
            r.tokens
        );
    }
    out.into_bytes()
}

/// JSON array of the list's rows.
pub fn json(reports: &[Report]) -> Vec<u8> {
    let rows: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            serde_json::json!({
                "number": r.number,
                "date": r.timestamp.format("%Y-%m-%dT%H:%M:%S").to_string(),
                "title": r.title,
                "search_type": r.search_type,
                "size_bytes": r.size_bytes,
                "tokens": r.tokens,
            })
        })
        .collect();
    serde_json::to_vec_pretty(&rows).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(number: u32, title: &str) -> Report {
        Report {
            number,
            file_path: format!("user_1/r{number}.txt"),
            user_id: 1,
            username: None,
            title: title.into(),
            timestamp: chrono::NaiveDateTime::parse_from_str("2025-01-15T14:30:00", "%Y-%m-%dT%H:%M:%S")
                .expect("ts"),
            size_bytes: 2048,
            tokens: 10,
            search_type: "deep".into(),
            job_id: None,
        }
    }

    #[test]
    fn the_txt_list_numbers_each_report_with_date_title_type_and_size() {
        let text = String::from_utf8(txt(
            "Алиса",
            "15.01.2025 15:00",
            None,
            &[report(7, "Итоги"), report(3, "Старт")],
        ))
        .expect("utf-8");
        assert!(text.contains("Всего отчетов: 2, общий размер: 4.0 КБ"), "{text}");
        assert!(
            text.contains("№7. 15.01.2025 14:30 — Итоги\n     поиск: глубокий, размер: 2.0 КБ"),
            "{text}"
        );
        assert!(text.find("№7.").expect("7") < text.find("№3.").expect("3"), "order kept");
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_json_round_trips() {
        let text = String::from_utf8(csv(&[report(1, "Да, \"нет\"")])).expect("utf-8");
        assert!(text.starts_with('\u{feff}'));
        assert!(text.contains("1,2025-01-15T14:30:00,\"Да, \"\"нет\"\"\",deep,2048,10\r\n"), "{text}");
        let rows: Vec<serde_json::Value> =
            serde_json::from_slice(&json(&[report(2, "Итоги")])).expect("json");
        assert_eq!(rows[0]["number"], 2);
        assert_eq!(rows[0]["title"], "Итоги");
    }
}
