//! Reading: missing/empty index, order, legacy samples, malformed entries, corruption, cache reload.

use std::fs;
use std::time::{Duration, SystemTime};

use serde_json::json;

use super::super::testutil::{TempDir, legacy_entry, read_index, write_legacy};
use super::super::{Renamed, StorageError};
use super::{open, ts};

#[test]
fn missing_and_empty_index_list_nothing() {
    let tmp = TempDir::new("missing");
    let dir = tmp.path().join("not-yet");
    let storage = open(&dir);
    assert!(dir.is_dir(), "open creates the directory");
    assert!(storage.list_blocking(1).expect("list").is_empty());
    assert!(!dir.join("index.json").exists(), "nothing written before the first write");
    fs::write(dir.join("index.json"), b"[]").expect("write");
    assert!(storage.list_blocking(1).expect("list").is_empty());
    assert_eq!(storage.get_blocking(1, 1).expect("get"), None);
}

#[test]
fn lists_newest_first_then_by_number() {
    let tmp = TempDir::new("order");
    write_legacy(
        tmp.path(),
        &[
            legacy_entry(5, 1, "2025-01-10T10:00:00", "old"),
            legacy_entry(5, 3, "2025-01-12T10:00:00", "same time, lower"),
            legacy_entry(6, 1, "2025-02-01T10:00:00", "other user"),
            legacy_entry(5, 4, "2025-01-12T10:00:00", "same time, higher"),
            legacy_entry(5, 2, "2025-01-15T10:00:00.5", "newest"),
        ],
    );
    let storage = open(tmp.path());
    let titles: Vec<String> = storage.list_blocking(5).expect("list").into_iter().map(|r| r.title).collect();
    assert_eq!(titles, ["newest", "same time, higher", "same time, lower", "old"]);
    assert_eq!(
        storage.get_blocking(5, 3).expect("get").map(|r| r.title).as_deref(),
        Some("same time, lower")
    );
    assert_eq!(storage.get_blocking(6, 3).expect("get"), None);
}

#[test]
fn python_style_index_parses() {
    let tmp = TempDir::new("python");
    // What `json.dump(index, f, indent=2, ensure_ascii=False)` writes.
    let text = r#"[
  {
    "file_path": "user_77/voxpersona_20250115_143000.txt",
    "user_id": 77,
    "username": "иван",
    "timestamp": "2025-01-15T14:30:00.123456",
    "question": "Анализ интервью: что думают клиенты?",
    "size_bytes": 2048,
    "tokens": 1500,
    "search_type": "deep",
    "report_number": 1
  },
  {
    "file_path": "user_77/voxpersona_20250116_090000.txt",
    "user_id": 77,
    "username": null,
    "timestamp": "2025-01-16T09:00:00+03:00",
    "question": "Второй отчёт",
    "size_bytes": 10,
    "tokens": 20,
    "search_type": "fast",
    "report_number": 2
  }
]"#;
    fs::write(tmp.path().join("index.json"), text).expect("write");
    let storage = open(tmp.path());
    let reports = storage.list_blocking(77).expect("list");
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].title, "Второй отчёт");
    assert_eq!(reports[0].timestamp, ts("2025-01-16T09:00:00"));
    assert_eq!(reports[0].username, None);
    assert_eq!(reports[1].username.as_deref(), Some("иван"));
    assert_eq!(reports[1].timestamp, ts("2025-01-15T14:30:00.123456"));
    assert_eq!(
        (reports[1].size_bytes, reports[1].tokens, reports[1].search_type.as_str()),
        (2048, 1500, "deep")
    );
}

#[test]
fn malformed_entries_are_skipped_counted_and_kept_verbatim() {
    let tmp = TempDir::new("malformed");
    let good = legacy_entry(1, 1, "2025-01-15T14:30:00", "good");
    write_legacy(tmp.path(), &[good]);
    let malformed = [
        "\"just a string\"",
        "{\"user_id\": 1, \"question\": \"no path\", \"report_number\": 9, \"timestamp\": \"2025-01-15T14:30:00\"}",
        "{\n      \"file_path\": \"user_1/x.txt\",  \"user_id\": 1, \"question\": \"bad time\",\n      \"report_number\": 8, \"timestamp\": \"когда-то\", \"keep\": [1.50, 2e3]\n    }",
        "{\"file_path\": \"user_1/y.txt\", \"user_id\": \"1\", \"question\": \"q\", \"report_number\": 7, \"timestamp\": \"2025-01-15T14:30:00\"}",
    ];
    let original = fs::read_to_string(tmp.path().join("index.json")).expect("read");
    let with_bad = original.replacen("[\n", &format!("[\n  {},\n", malformed.join(",\n  ")), 1);
    fs::write(tmp.path().join("index.json"), &with_bad).expect("write");

    let storage = open(tmp.path());
    assert_eq!(storage.stats().malformed_entries, 4);
    let reports = storage.list_blocking(1).expect("list");
    assert_eq!(reports.len(), 1);
    let renamed = storage.rename_blocking(1, 1, &reports[0].file_path, "renamed").expect("rename");
    assert!(matches!(renamed, Renamed::Renamed { .. }));

    let rewritten = fs::read_to_string(tmp.path().join("index.json")).expect("read");
    for raw in malformed {
        assert!(rewritten.contains(raw), "malformed entry not preserved byte-for-byte: {raw}");
    }
    assert_eq!(storage.stats().malformed_entries, 4);
    assert_eq!(read_index(tmp.path()).len(), 5);
}

#[test]
fn corrupt_index_fails_listing_and_refuses_writes() {
    let tmp = TempDir::new("corrupt");
    let corrupt = b"{\"this\": \"is not an array\"}";
    fs::write(tmp.path().join("index.json"), corrupt).expect("write");
    let storage = open(tmp.path());
    assert!(matches!(storage.list_blocking(1), Err(StorageError::CorruptIndex { .. })));
    let saved = storage.save_report_blocking(super::new_report(1, "t", None));
    assert!(matches!(saved, Err(StorageError::CorruptIndex { .. })), "{saved:?}");
    assert!(matches!(storage.delete_blocking(1, 1, "user_1/a.txt"), Err(StorageError::CorruptIndex { .. })));
    assert_eq!(fs::read(tmp.path().join("index.json")).expect("read"), corrupt);
    assert!(!tmp.path().join("user_1").exists(), "no report file written for a refused save");

    fs::write(tmp.path().join("index.json"), b"[1, 2").expect("truncated file");
    assert!(matches!(storage.list_blocking(1), Err(StorageError::CorruptIndex { .. })));
}

#[test]
fn cache_reloads_when_another_process_rewrites_the_index() {
    let tmp = TempDir::new("reload");
    write_legacy(tmp.path(), &[legacy_entry(1, 1, "2025-01-15T14:30:00", "before")]);
    let storage = open(tmp.path());
    assert_eq!(storage.list_blocking(1).expect("list")[0].title, "before");

    // Same length, written in place (as the old bot does), then mtime bumped explicitly.
    let path = tmp.path().join("index.json");
    let text = fs::read_to_string(&path).expect("read").replace("\"before\"", "\"after!\"");
    fs::write(&path, text).expect("rewrite");
    let file = fs::File::options().write(true).open(&path).expect("open");
    file.set_modified(SystemTime::now() + Duration::from_secs(5)).expect("bump mtime");
    assert_eq!(storage.list_blocking(1).expect("list")[0].title, "after!");

    let appended = json!([
        legacy_entry(1, 1, "2025-01-15T14:30:00", "after!"),
        legacy_entry(1, 2, "2025-01-16T14:30:00", "new")
    ]);
    fs::write(&path, appended.to_string()).expect("rewrite");
    assert_eq!(storage.list_blocking(1).expect("list").len(), 2);
}
