//! Demo reports for the sandbox and the smoke checks, saved through the store
//! itself (so they are laid out exactly as real ones: `user_<id>/voxpersona_…`,
//! numbers 1, 2, … in `index.json`).

use chrono::NaiveDateTime;

use super::{NewReport, Report, Storage, StorageError};

const DEMO: &[(&str, &str, &str)] = &[
    ("2025-03-03T09:15:00", "Интервью с клиентом: ожидания от сервиса", "deep"),
    ("2025-03-10T14:40:00", "Анализ встречи отдела продаж", "fast"),
    ("2025-03-17T11:05:00", "Обратная связь по новому тарифу", "deep"),
    ("2025-03-24T16:30:00", "Итоги планерки 24 марта", "fast"),
    ("2025-03-31T10:00:00", "Разбор звонка в поддержку", "fast"),
    ("2025-04-07T12:20:00", "Сводка голосовых сообщений за неделю", "deep"),
];

/// Saves six demo reports for `user` (a week apart, titles in Russian).
pub fn seed_demo(storage: &Storage, user: i64) -> Result<Vec<Report>, StorageError> {
    DEMO.iter()
        .enumerate()
        .map(|(i, (timestamp, title, search))| {
            let content = format!(
                "{title}\n\nКраткие выводы:\n- участники обсудили главные вопросы;\n- решения записаны;\n- следующий шаг назначен.\n\n\
                 (демонстрационный отчет песочницы vox-host)\n"
            );
            storage.save_report_blocking(NewReport {
                user_id: user,
                username: Some("sandbox".to_owned()),
                title: (*title).to_owned(),
                search_type: (*search).to_owned(),
                job_id: None,
                tokens: 1500 + 100 * i as u64,
                content: content.into_bytes(),
                timestamp: NaiveDateTime::parse_from_str(timestamp, "%Y-%m-%dT%H:%M:%S").ok(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_reports_are_numbered_from_one_with_voxpersona_file_names() {
        let dir = std::env::temp_dir().join(format!("vox-demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let storage = Storage::open(&dir).expect("open");
        let saved = seed_demo(&storage, 1001).expect("seed");
        assert_eq!(saved.iter().map(|r| r.number).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(saved[2].file_path, "user_1001/voxpersona_20250317_110500.txt");
        assert_eq!(storage.list_blocking(1001).expect("list").len(), 6);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
