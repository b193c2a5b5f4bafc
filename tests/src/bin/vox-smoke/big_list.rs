//! The user whose list is over `max_list_bytes`: enough realistic reports
//! (VoxPersona's entry fields, Russian questions of up to 200 characters as
//! titles — the plugin's own title limit — and one file per report) that the
//! TXT list the plugin would build is safely over the limit: about 25,000
//! reports for the default 10 MiB.
//!
//! The list's size is estimated from below with the plugin's line layout
//! (`№N. DD.MM.YYYY HH:MM — title` and `     поиск: …, размер: …`), so the
//! real list is at least as large as the estimate.
//!
//! Creating that many files is fast on tmpfs and usually on disk; on a disk
//! too slow to do it within the time budget, seeding stops there and the
//! limit is lowered to fit what was written (the run passes it to the host
//! through the environment and says so in check 12's line).

use std::time::{Duration, Instant};

use chrono::{Duration as Minutes, NaiveDate, NaiveDateTime};
use vox_report_store::{Imported, Report, Storage};

/// How far over the limit the estimate must be.
const MARGIN: f64 = 1.05;
/// Reports imported per index write.
const BATCH: usize = 5000;
/// Longest title, as the plugin's rename allows.
const TITLE_CHARS: usize = 200;

/// What was seeded for the over-the-limit user.
#[derive(Debug, Clone)]
pub struct BigList {
    /// Reports seeded.
    pub reports: usize,
    /// The TXT list's size, estimated from below.
    pub list_bytes_at_least: u64,
    /// The limit the list is over: the one asked for, or a lowered one.
    pub limit: u64,
    /// Why the limit was lowered, if it was.
    pub lowered: Option<String>,
}

const SUBJECTS: &[&str] = &[
    "встречи с клиентом из логистической компании",
    "звонка в службу поддержки о задержке платежа",
    "планерки отдела продаж в понедельник",
    "интервью с кандидатом на должность аналитика",
    "голосовых сообщений команды проекта за неделю",
    "переговоров о продлении договора аренды склада",
    "отзывов пользователей о мобильном приложении",
    "совещания руководителей филиалов о бюджете",
];

const ASKS: &[&str] = &[
    "Какие возражения прозвучали и как на них ответили?",
    "Выдели договоренности, сроки и ответственных.",
    "Оцени тон разговора и найди моменты напряжения.",
    "Составь резюме для руководителя с цифрами и рисками.",
    "Что осталось без ответа и какие следующие шаги?",
    "Какие темы поднимались чаще всего и почему?",
    "Где мы теряем клиента и что предложить взамен?",
];

/// Stores the user's reports through the store (imported in batches) until
/// the list is over `limit` — or `budget` has passed, then the limit is
/// lowered below what was written.
pub fn seed(storage: &Storage, user: i64, limit: u64, budget: Duration) -> std::io::Result<BigList> {
    let started = Instant::now();
    let start = NaiveDate::from_ymd_opt(2022, 1, 3)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .ok_or_else(|| std::io::Error::other("start date"))?;
    let target = (limit as f64 * MARGIN) as u64;
    let mut estimate = 0u64;
    let mut number = 0u32;
    let mut lowered = None;
    let mut limit = limit;
    let mut batch = Vec::with_capacity(BATCH);
    let store = |batch: &mut Vec<Imported>| {
        storage.import_blocking(std::mem::take(batch)).map_err(std::io::Error::other)
    };
    while estimate < target {
        if started.elapsed() > budget && number > 0 {
            let wanted = limit;
            limit = (estimate as f64 / MARGIN) as u64;
            lowered = Some(format!(
                "max_list_bytes lowered from {wanted} to {limit} via env: {number} report files took over {:.1} s to write here",
                budget.as_secs_f64()
            ));
            break;
        }
        number += 1;
        let at: NaiveDateTime = start + Minutes::minutes(53 * i64::from(number));
        let title = question(u64::from(number));
        let body = format!(
            "{title}\n\nКраткие выводы:\n- участники обсудили главные вопросы;\n- решения записаны;\n\
             - следующий шаг назначен.\n\n(отчет для проверки лимита размера списка, vox-smoke)\n"
        );
        let search = if number.is_multiple_of(3) { "deep" } else { "fast" };
        estimate += list_lines_at_least(u64::from(number), &title, search);
        let report = Report {
            number,
            file_path: format!("user_{user}/voxpersona_{}.txt", at.format("%Y%m%d_%H%M%S")),
            user_id: user,
            username: Some("smoke_big".to_owned()),
            title,
            timestamp: at,
            size_bytes: body.len() as u64,
            tokens: 2000 + u64::from(number % 900),
            search_type: search.to_owned(),
            job_id: None,
        };
        batch.push(Imported { report, content: body.into_bytes() });
        if batch.len() == BATCH {
            store(&mut batch)?;
        }
    }
    store(&mut batch)?;
    Ok(BigList { reports: number as usize, list_bytes_at_least: estimate, limit, lowered })
}

/// A question as people ask VoxPersona: what was analysed, then what to look
/// for — as many asks as fit in the title limit.
fn question(number: u64) -> String {
    let i = number as usize;
    let mut title = format!("Анализ {} №{number}.", SUBJECTS[i % SUBJECTS.len()]);
    for k in 0..ASKS.len() {
        let ask = ASKS[(i + k) % ASKS.len()];
        if title.chars().count() + 1 + ask.chars().count() > TITLE_CHARS {
            break;
        }
        title.push(' ');
        title.push_str(ask);
    }
    title
}

/// A lower bound of the two lines the TXT list gives a report.
fn list_lines_at_least(number: u64, title: &str, search: &str) -> u64 {
    let shown_type = if search == "deep" { "глубокий" } else { "быстрый" };
    // "№N. " + "DD.MM.YYYY HH:MM" + " — " + title + "\n"
    let first = "№".len() + number.to_string().len() + 2 + 16 + " — ".len() + title.len() + 1;
    // "     поиск: T, размер: " + at least "1 Б" + "\n"
    let second = "     поиск: ".len() + shown_type.len() + ", размер: ".len() + "1 Б".len() + 1;
    (first + second) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_is_a_lower_bound_of_the_real_lines() {
        let title = "Анализ встречи №12. Итоги";
        let real = format!("№12. 15.01.2025 14:30 — {title}\n     поиск: глубокий, размер: 12.3 КБ\n");
        assert!(list_lines_at_least(12, title, "deep") <= real.len() as u64);
        assert!(list_lines_at_least(12, title, "deep") + 10 >= real.len() as u64, "and a close one");
    }

    #[test]
    fn questions_fit_the_title_limit_and_differ() {
        for n in [1, 7, 99, 12_345, 99_999] {
            let q = question(n);
            assert!(
                (120..=TITLE_CHARS).contains(&q.chars().count()),
                "{n}: {} chars: {q}",
                q.chars().count()
            );
        }
        assert_ne!(question(1), question(2));
    }

    #[test]
    fn a_slow_disk_lowers_the_limit_below_what_was_written() {
        let dir = std::env::temp_dir().join(format!("vox-smoke-big-list-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let storage = Storage::open(&dir).expect("store");
        let big = seed(&storage, 5, 10 * 1024 * 1024, Duration::ZERO).expect("seeded");
        let stored = storage.list_blocking(5).expect("list").len();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!((big.reports, stored), (1, 1));
        assert!(big.limit < big.list_bytes_at_least, "{big:?}");
        assert!(big.lowered.as_deref().is_some_and(|w| w.contains("via env")), "{big:?}");
    }
}
