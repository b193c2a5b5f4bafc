//! Tests of the storage façade on real directories.

mod concurrency;
mod failures;
mod listing;
mod properties;
mod recovery;
mod security;
mod writes;

use chrono::NaiveDateTime;

use super::{NewReport, Storage};

fn open(dir: &std::path::Path) -> Storage {
    Storage::open(dir).expect("open storage")
}

fn ts(text: &str) -> NaiveDateTime {
    super::timestamp::parse(text).expect("test timestamp")
}

fn new_report(user: i64, title: &str, timestamp: Option<&str>) -> NewReport {
    NewReport {
        user_id: user,
        username: Some("tester".into()),
        title: title.into(),
        search_type: "deep".into(),
        job_id: None,
        tokens: 99,
        content: "Текст отчёта".as_bytes().to_vec(),
        timestamp: timestamp.map(ts),
    }
}
