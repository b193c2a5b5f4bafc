//! A VoxPersona reports directory for end-to-end tests, stored through the
//! report store (`import`, keeping the numbers and paths given), and read back.

use std::path::{Path, PathBuf};

use serde_json::Value;
use vox_testkit::{ScriptedUser, TestHostBuilder};

/// `/reports`: the list arrives and the action menu stays on screen.
pub async fn open_list(user: &mut ScriptedUser) {
    user.send_text("/reports");
    user.expect_document().await;
    user.expect_text("Выберите действие").await;
}

/// `n` reports for `user`, numbered 1..=n, one day apart (newest has the highest number).
pub fn reports(user: i64, n: u32) -> Vec<(i64, u32, String, String)> {
    (1..=n)
        .map(|i| {
            let day =
                chrono::NaiveDate::from_ymd_opt(2025, 1, 1).expect("date") + chrono::Days::new(u64::from(i));
            (user, i, format!("Отчет номер {i}"), format!("{}T10:00:00", day.format("%Y-%m-%d")))
        })
        .collect()
}

/// The file name of report `number` of `user`.
pub fn file_path(user: i64, number: u32) -> String {
    format!("user_{user}/voxpersona_20250101_1000{number:02}.txt")
}

/// Stores the reports and their files under `dir` (created) through the store.
pub fn write(dir: &Path, rows: &[(i64, u32, String, String)]) {
    let batch = rows
        .iter()
        .map(|(user, number, title, timestamp)| {
            let content = format!("Отчет №{number}: {title}\n\nТекст анализа.\n").into_bytes();
            let report = vox_report_store::Report {
                number: *number,
                file_path: file_path(*user, *number),
                user_id: *user,
                username: Some(format!("user{user}")),
                title: title.clone(),
                timestamp: chrono::NaiveDateTime::parse_from_str(timestamp, "%Y-%m-%dT%H:%M:%S")
                    .expect("fixture timestamp"),
                size_bytes: content.len() as u64,
                tokens: 1200,
                search_type: if number % 2 == 0 { "deep" } else { "fast" }.to_owned(),
                job_id: None,
            };
            vox_report_store::Imported { report, content }
        })
        .collect();
    let storage = vox_report_store::Storage::open(dir).expect("reports dir");
    storage.import_blocking(batch).expect("fixture reports import");
}

/// The index as stored now.
pub fn read_index(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("index.json")).expect("index.json readable");
    serde_json::from_str(&text).expect("index.json is a JSON array")
}

/// The entry of `user`'s report `number`, if present.
pub fn entry(dir: &Path, user: i64, number: u32) -> Option<Value> {
    read_index(dir).into_iter().find(|e| e["user_id"] == user && e["report_number"] == number)
}

/// The reports directory inside a test's temp dir.
pub fn reports_dir(test_dir: &Path) -> PathBuf {
    test_dir.join("reports")
}

/// A host serving my-reports at `version` over a directory seeded with `rows`.
pub fn host(version: &str, rows: Vec<(i64, u32, String, String)>, extra: &str) -> TestHostBuilder {
    vox_testkit::TestHost::builder()
        .config(&config(version, extra))
        .setup(move |dir| write(&reports_dir(dir), &rows))
}

/// The config file `host` writes: my-reports at `version` over the test's reports, plus `extra`.
pub fn config(version: &str, extra: &str) -> String {
    format!("[plugins.my_reports]\nreports_dir = \"{{dir}}/reports\"\nversion = \"{version}\"\n{extra}")
}
