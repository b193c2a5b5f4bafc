//! Rename, delete and save: effects on the index and files, numbering, identity checks.

use std::fs;

use serde_json::{Value, json};

use super::super::testutil::{TempDir, legacy_entry, read_index, write_legacy};
use super::super::{Deleted, NewReport, Renamed, StorageError};
use super::{new_report, open, ts};

#[test]
fn numbers_are_never_reused_after_deleting_the_highest() {
    let tmp = TempDir::new("numbers");
    // A legacy directory: no counter file.
    write_legacy(
        tmp.path(),
        &[legacy_entry(3, 1, "2025-01-15T14:30:00", "a"), legacy_entry(3, 2, "2025-01-16T14:30:00", "b")],
    );
    let storage = open(tmp.path());
    let deleted = storage.delete_blocking(3, 2, "user_3/voxpersona_0002.txt").expect("delete");
    assert!(matches!(deleted, Deleted::Deleted(ref r) if r.number == 2));
    let saved = storage.save_report_blocking(new_report(3, "next", None)).expect("save");
    assert_eq!(saved.number, 3, "number 2 must not be given again");

    // Also across a restart, and after deleting the newest again.
    storage.delete_blocking(3, 3, &saved.file_path).expect("delete");
    let reopened = open(tmp.path());
    assert_eq!(reopened.save_report_blocking(new_report(3, "again", None)).expect("save").number, 4);
    assert_eq!(reopened.save_report_blocking(new_report(8, "first", None)).expect("save").number, 1);
}

#[test]
fn delete_removes_entry_and_file_and_is_idempotent() {
    let tmp = TempDir::new("delete");
    write_legacy(
        tmp.path(),
        &[legacy_entry(4, 1, "2025-01-15T14:30:00", "a"), legacy_entry(4, 2, "2025-01-16T14:30:00", "b")],
    );
    let storage = open(tmp.path());
    let path = "user_4/voxpersona_0001.txt";
    assert!(matches!(storage.delete_blocking(4, 1, path).expect("delete"), Deleted::Deleted(_)));
    assert!(!tmp.path().join(path).exists());
    let left = read_index(tmp.path());
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["report_number"], 2);
    assert_eq!(storage.delete_blocking(4, 1, path).expect("again"), Deleted::NotFound);
    assert_eq!(storage.list_blocking(4).expect("list").len(), 1);
    assert!(!tmp.path().join(".vox-journal.json").exists());
}

#[test]
fn delete_of_a_missing_file_still_removes_the_entry() {
    let tmp = TempDir::new("delete-missing");
    write_legacy(tmp.path(), &[legacy_entry(4, 1, "2025-01-15T14:30:00", "a")]);
    fs::remove_file(tmp.path().join("user_4/voxpersona_0001.txt")).expect("remove");
    let storage = open(tmp.path());
    assert_eq!(storage.stats().dangling_entries, 1);
    match storage.delete_blocking(4, 1, "user_4/voxpersona_0001.txt").expect("delete") {
        Deleted::Deleted(report) => assert_eq!(report.title, "a"),
        Deleted::NotFound => panic!("entry should have been deleted"),
    }
    assert!(read_index(tmp.path()).is_empty());
}

#[test]
fn identity_check_rejects_a_different_path() {
    let tmp = TempDir::new("identity");
    write_legacy(tmp.path(), &[legacy_entry(4, 1, "2025-01-15T14:30:00", "a")]);
    let storage = open(tmp.path());
    assert_eq!(storage.rename_blocking(4, 1, "user_4/other.txt", "x").expect("rename"), Renamed::NotFound);
    assert_eq!(storage.delete_blocking(4, 1, "user_4/other.txt").expect("delete"), Deleted::NotFound);
    assert_eq!(
        storage.delete_blocking(5, 1, "user_4/voxpersona_0001.txt").expect("delete"),
        Deleted::NotFound
    );
    assert!(tmp.path().join("user_4/voxpersona_0001.txt").exists());
    assert_eq!(read_index(tmp.path())[0]["question"], "a");
}

#[test]
fn rename_changes_only_the_question_and_keeps_unknown_fields() {
    let tmp = TempDir::new("rename");
    let mut entry = legacy_entry(4, 1, "2025-01-15T14:30:00.250000+03:00", "старое");
    entry["future_field"] = json!({"nested": [1, "два", null]});
    entry["score"] = json!(0.5);
    write_legacy(tmp.path(), &[entry.clone(), legacy_entry(4, 2, "2025-01-16T14:30:00", "b")]);
    let before = fs::read_to_string(tmp.path().join("index.json")).expect("read");
    let storage = open(tmp.path());

    let Renamed::Renamed { old, new } =
        storage.rename_blocking(4, 1, "user_4/voxpersona_0001.txt", "новое «имя»").expect("rename")
    else {
        panic!("not renamed");
    };
    assert_eq!((old.title.as_str(), new.title.as_str()), ("старое", "новое «имя»"));
    assert_eq!(new, super::super::Report { title: "новое «имя»".into(), ..old });

    let after = read_index(tmp.path());
    let mut expected = entry;
    expected["question"] = Value::from("новое «имя»");
    assert_eq!(after[0], expected);
    let text = fs::read_to_string(tmp.path().join("index.json")).expect("read");
    assert!(text.contains("новое «имя»"), "non-ASCII written unescaped");
    // The other entry's text is untouched.
    let second =
        &before[before.find("  {\n    \"file_path\": \"user_4/voxpersona_0002.txt\"").expect("second")..];
    let second = second.trim_start().trim_end().trim_end_matches(']').trim_end();
    assert!(text.contains(second));
    assert!(text.starts_with("[\n{") && text.ends_with("}\n]\n"));
    assert_eq!(
        storage
            .list_blocking(4)
            .expect("list")
            .iter()
            .find(|r| r.number == 1)
            .map(|r| r.title.clone())
            .as_deref(),
        Some("новое «имя»")
    );
}

#[test]
fn save_writes_file_and_entry_with_collision_suffixes() {
    let tmp = TempDir::new("save");
    let storage = open(tmp.path());
    let first =
        storage.save_report_blocking(new_report(9, "первый", Some("2025-03-01T08:09:10"))).expect("save");
    let second =
        storage.save_report_blocking(new_report(9, "второй", Some("2025-03-01T08:09:10"))).expect("save");
    fs::write(tmp.path().join("user_9/voxpersona_20250301_080910_3.txt"), b"someone else's").expect("squat");
    let third =
        storage.save_report_blocking(new_report(9, "третий", Some("2025-03-01T08:09:10"))).expect("save");
    assert_eq!(first.file_path, "user_9/voxpersona_20250301_080910.txt");
    assert_eq!(second.file_path, "user_9/voxpersona_20250301_080910_2.txt");
    assert_eq!(third.file_path, "user_9/voxpersona_20250301_080910_4.txt");
    assert_eq!((first.number, second.number, third.number), (1, 2, 3));
    assert_eq!(fs::read(tmp.path().join(&first.file_path)).expect("read"), "Текст отчёта".as_bytes());
    assert_eq!(first.size_bytes, "Текст отчёта".len() as u64);

    let index = read_index(tmp.path());
    assert_eq!(
        index[0],
        json!({"file_path": "user_9/voxpersona_20250301_080910.txt", "user_id": 9, "username": "tester",
               "timestamp": "2025-03-01T08:09:10", "question": "первый", "size_bytes": first.size_bytes,
               "tokens": 99, "search_type": "deep", "report_number": 1})
    );
    assert_eq!(storage.list_blocking(9).expect("list")[0], third);

    let now = storage.save_report_blocking(new_report(9, "сейчас", None)).expect("save");
    let text = index_timestamp(tmp.path(), 3);
    assert_eq!(text.len(), "2025-03-01T08:09:10".len(), "local now without fraction: {text}");
    assert_eq!(now.timestamp, ts(&text));
}

fn index_timestamp(dir: &std::path::Path, position: usize) -> String {
    read_index(dir)[position]["timestamp"].as_str().expect("timestamp").to_owned()
}

#[tokio::test]
async fn off_runs_store_work_on_the_blocking_pool_with_typed_errors() {
    let tmp = TempDir::new("async");
    let storage = open(tmp.path());
    let new = new_report(2, "a", Some("2025-01-01T00:00:00"));
    let saved = storage.off(move |s| s.save_report_blocking(new)).await.expect("save");
    assert_eq!(storage.off(|s| s.list_blocking(2)).await.expect("list"), vec![saved.clone()]);
    let rel = saved.file_path.clone();
    assert!(storage.off(move |s| s.resolve_user_file_blocking(2, &rel)).await.is_ok());
    let refused = storage.off(|s| s.resolve_user_file_blocking(2, "user_3/x.txt")).await;
    assert_eq!(refused, Err(super::super::PathRefusal::OtherUser));
    let failed: Result<(), StorageError> = storage.off(|_| panic!("a store task that panics")).await;
    assert!(matches!(failed, Err(StorageError::TaskFailed(_))), "{failed:?}");
    let failed: Result<(), super::super::PathRefusal> =
        storage.off(|_| panic!("a path check that panics")).await;
    assert_eq!(failed, Err(super::super::PathRefusal::Unavailable));
}

#[test]
fn deleting_one_of_two_entries_sharing_a_file_keeps_the_file() {
    let tmp = TempDir::new("shared-file");
    let mut twin = legacy_entry(4, 2, "2025-01-16T14:30:00", "twin");
    twin["file_path"] = "user_4/voxpersona_0001.txt".into();
    write_legacy(tmp.path(), &[legacy_entry(4, 1, "2025-01-15T14:30:00", "a"), twin]);
    let storage = open(tmp.path());
    assert!(matches!(
        storage.delete_blocking(4, 2, "user_4/voxpersona_0001.txt").expect("delete"),
        Deleted::Deleted(_)
    ));
    assert!(tmp.path().join("user_4/voxpersona_0001.txt").exists());
    assert!(matches!(
        storage.delete_blocking(4, 1, "user_4/voxpersona_0001.txt").expect("delete"),
        Deleted::Deleted(_)
    ));
    assert!(!tmp.path().join("user_4/voxpersona_0001.txt").exists());
}

#[test]
fn the_last_number_is_never_handed_out_or_reused() {
    let tmp = TempDir::new("exhausted");
    write_legacy(tmp.path(), &[legacy_entry(6, u32::MAX, "2025-01-15T14:30:00", "last")]);
    let storage = open(tmp.path());
    let exhausted = |s: &super::super::Storage| s.save_report_blocking(new_report(6, "more", None));
    assert!(matches!(exhausted(&storage), Err(StorageError::NumbersExhausted { user_id: 6 })));
    storage.delete_blocking(6, u32::MAX, "user_6/voxpersona_4294967295.txt").expect("delete");
    assert!(matches!(exhausted(&storage), Err(StorageError::NumbersExhausted { user_id: 6 })));
}

#[test]
fn corrupt_counters_refuse_numbering_writes_and_stay_untouched() {
    let tmp = TempDir::new("counters-corrupt");
    write_legacy(tmp.path(), &[legacy_entry(6, 1, "2025-01-15T14:30:00", "a")]);
    fs::write(tmp.path().join(".vox-counters.json"), b"garbage").expect("write");
    let storage = open(tmp.path());
    let deleted = storage.delete_blocking(6, 1, "user_6/voxpersona_0001.txt");
    assert!(matches!(deleted, Err(StorageError::CorruptState { .. })), "{deleted:?}");
    assert!(matches!(
        storage.save_report_blocking(new_report(6, "b", None)),
        Err(StorageError::CorruptState { .. })
    ));
    assert_eq!(fs::read(tmp.path().join(".vox-counters.json")).expect("read"), b"garbage");
    assert_eq!(read_index(tmp.path()).len(), 1);
    // Renames do not need numbers.
    assert!(matches!(
        storage.rename_blocking(6, 1, "user_6/voxpersona_0001.txt", "b"),
        Ok(Renamed::Renamed { .. })
    ));
}

fn imported(user: i64, number: u32, file: &str) -> super::super::Imported {
    let content = format!("report {number}").into_bytes();
    super::super::Imported {
        report: super::super::Report {
            number,
            file_path: format!("user_{user}/{file}"),
            user_id: user,
            username: None,
            title: format!("Отчет {number}"),
            timestamp: ts("2025-02-01T10:00:00"),
            size_bytes: content.len() as u64,
            tokens: 5,
            search_type: "fast".into(),
            job_id: None,
        },
        content,
    }
}

#[test]
fn import_keeps_numbers_and_paths_and_the_next_save_goes_above_them() {
    let tmp = TempDir::new("import");
    let storage = open(tmp.path());
    let stored =
        storage.import_blocking(vec![imported(9, 4, "a.txt"), imported(9, 7, "b.txt")]).expect("import");
    assert_eq!(stored, 2);
    let listed = storage.list_blocking(9).expect("list");
    assert_eq!(listed.iter().map(|r| (r.number, r.file_path.as_str())).collect::<Vec<_>>().len(), 2);
    assert!(listed.iter().any(|r| r.number == 7 && r.file_path == "user_9/b.txt"));
    assert_eq!(fs::read(tmp.path().join("user_9/a.txt")).expect("file"), b"report 4");
    assert_eq!(storage.save_report_blocking(new_report(9, "next", None)).expect("save").number, 8);
}

#[test]
fn an_import_with_a_taken_number_or_a_foreign_path_is_refused_whole() {
    let tmp = TempDir::new("import-refused");
    let storage = open(tmp.path());
    storage.import_blocking(vec![imported(9, 1, "a.txt")]).expect("first");
    let taken = storage.import_blocking(vec![imported(9, 2, "b.txt"), imported(9, 1, "c.txt")]);
    assert!(matches!(taken, Err(StorageError::InvalidImport { report_number: 1, .. })), "{taken:?}");
    let twice = storage.import_blocking(vec![imported(9, 3, "d.txt"), imported(9, 3, "e.txt")]);
    assert!(matches!(twice, Err(StorageError::InvalidImport { report_number: 3, .. })), "{twice:?}");
    let mut foreign = imported(9, 5, "f.txt");
    foreign.report.file_path = "user_8/f.txt".into();
    assert!(matches!(storage.import_blocking(vec![foreign]), Err(StorageError::InvalidImport { .. })));
    assert_eq!(storage.list_blocking(9).expect("list").len(), 1, "nothing of a refused batch stored");
    assert!(!tmp.path().join("user_9/b.txt").exists());
}

#[test]
fn a_save_retried_with_its_job_id_stores_the_report_once_with_one_number() {
    let tmp = TempDir::new("save-idempotent");
    let storage = open(tmp.path());
    let with_job = |title: &str| NewReport { job_id: Some("job-7f3a".into()), ..new_report(1, title, None) };
    let first = storage.save_report_blocking(with_job("Анализ встречи")).expect("save");
    let retried = storage.save_report_blocking(with_job("Анализ встречи")).expect("retry");
    assert_eq!(retried, first, "the retry answers with the stored report");
    assert_eq!(storage.list_blocking(1).expect("list").len(), 1, "stored once");
    assert_eq!(first.job_id.as_deref(), Some("job-7f3a"));
    let index = read_index(tmp.path());
    assert_eq!(index[0]["job_id"], "job-7f3a", "the key is kept in the entry");
    // Another job, and a save without a key, are new reports with the next numbers.
    let other =
        storage.save_report_blocking(NewReport { job_id: Some("job-2".into()), ..new_report(1, "b", None) });
    assert_eq!(other.expect("save").number, 2);
    assert_eq!(storage.save_report_blocking(new_report(1, "c", None)).expect("save").number, 3);
    // The key is per user: another user's job with the same id is their own report.
    assert_eq!(storage.save_report_blocking(with_job_for(2)).expect("save").number, 1);
}

fn with_job_for(user: i64) -> NewReport {
    NewReport { job_id: Some("job-7f3a".into()), ..new_report(user, "чужой", None) }
}

#[test]
fn a_save_that_failed_is_stored_by_its_retry() {
    let tmp = TempDir::new("save-retry-after-failure");
    let storage = open(tmp.path());
    let job = || NewReport { job_id: Some("job-9".into()), ..new_report(1, "после ошибки", None) };
    crate::faults::inject(crate::faults::Call::Write, "index.json", 1, std::io::ErrorKind::StorageFull);
    assert!(storage.save_report_blocking(job()).is_err());
    let saved = storage.save_report_blocking(job()).expect("retry");
    assert_eq!(storage.list_blocking(1).expect("list"), vec![saved.clone()], "one report");
    assert!(storage.save_report_blocking(job()).expect("again") == saved, "and only one");
    crate::faults::clear();
}

#[test]
fn a_writer_whose_shared_lock_ran_out_is_fenced_off() {
    let tmp = TempDir::new("fenced");
    write_legacy(
        tmp.path(),
        &[legacy_entry(5, 1, "2025-01-15T14:30:00", "a"), legacy_entry(5, 2, "2025-01-16T14:30:00", "b")],
    );
    // Two machines on one directory: the first took the shared lock with token 3 and paused; it
    // ran out, the second took it with token 4 and renamed.
    let (paused, next) = (open(tmp.path()).with_fence(3), open(tmp.path()).with_fence(4));
    next.rename_blocking(5, 1, "user_5/voxpersona_0001.txt", "newer").expect("rename");
    let before = fs::read(tmp.path().join("index.json")).expect("index");
    let late = paused.rename_blocking(5, 1, "user_5/voxpersona_0001.txt", "stale");
    assert!(matches!(late, Err(StorageError::Fenced { token: 3, newest: 4 })), "{late:?}");
    let late = paused.delete_blocking(5, 2, "user_5/voxpersona_0002.txt");
    assert!(matches!(late, Err(StorageError::Fenced { .. })), "{late:?}");
    assert!(matches!(
        paused.save_report_blocking(new_report(5, "x", None)),
        Err(StorageError::Fenced { .. })
    ));
    assert_eq!(fs::read(tmp.path().join("index.json")).expect("index"), before, "nothing changed");
    assert!(tmp.path().join("user_5/voxpersona_0002.txt").exists());
    assert_eq!(next.newest_fence_blocking().expect("fence"), 4);
    // Writers without a shared lock (this machine's flock only, the Python bot) are not fenced.
    let local = open(tmp.path());
    assert!(matches!(local.delete_blocking(5, 2, "user_5/voxpersona_0002.txt"), Ok(Deleted::Deleted(_))));
    assert!(local.check_consistency_blocking().expect("scan").orphan_files.is_empty());
}
