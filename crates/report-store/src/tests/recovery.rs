//! Crash recovery: a journal plus the intermediate state a crash would leave, completed by `open`.

use std::fs;

use serde_json::json;

use super::super::testutil::{TempDir, legacy_entry, read_index, write_legacy};
use super::open;

pub(super) fn write_journal(dir: &std::path::Path, intent: serde_json::Value) {
    fs::write(dir.join(".vox-journal.json"), json!({"version": 1, "intent": intent}).to_string())
        .expect("journal");
}

#[test]
fn interrupted_delete_after_the_index_write_is_completed() {
    let tmp = TempDir::new("recover-delete");
    // Crash point: index already without the entry, file still there.
    write_legacy(
        tmp.path(),
        &[legacy_entry(1, 1, "2025-01-15T14:30:00", "a"), legacy_entry(1, 2, "2025-01-16T14:30:00", "b")],
    );
    write_legacy(tmp.path(), &[legacy_entry(1, 1, "2025-01-15T14:30:00", "a")]);
    write_journal(
        tmp.path(),
        json!({"delete": {"user_id": 1, "report_number": 2, "file_path": "user_1/voxpersona_0002.txt"}}),
    );
    let storage = open(tmp.path());
    assert!(!tmp.path().join("user_1/voxpersona_0002.txt").exists());
    assert!(!tmp.path().join(".vox-journal.json").exists());
    assert_eq!(storage.stats().recovered_operations, 1);
    assert_eq!(storage.stats().orphan_files, 0);
    assert_eq!(read_index(tmp.path()).len(), 1);
}

#[test]
fn interrupted_delete_before_the_index_write_is_completed() {
    let tmp = TempDir::new("recover-delete-early");
    write_legacy(
        tmp.path(),
        &[legacy_entry(1, 1, "2025-01-15T14:30:00", "a"), legacy_entry(1, 2, "2025-01-16T14:30:00", "b")],
    );
    write_journal(
        tmp.path(),
        json!({"delete": {"user_id": 1, "report_number": 2, "file_path": "user_1/voxpersona_0002.txt"}}),
    );
    let storage = open(tmp.path());
    assert_eq!(storage.list_blocking(1).expect("list").len(), 1);
    assert!(!tmp.path().join("user_1/voxpersona_0002.txt").exists());
    // The counter was raised during recovery too: number 2 is gone for good.
    assert_eq!(storage.save_report_blocking(super::new_report(1, "n", None)).expect("save").number, 3);
}

#[test]
fn interrupted_save_with_its_file_written_is_appended() {
    let tmp = TempDir::new("recover-save");
    write_legacy(tmp.path(), &[legacy_entry(1, 1, "2025-01-15T14:30:00", "a")]);
    let entry = json!({"file_path": "user_1/voxpersona_20250301_000000.txt", "user_id": 1, "username": null,
        "timestamp": "2025-03-01T00:00:00", "question": "сохранён", "size_bytes": 4, "tokens": 1,
        "search_type": "fast", "report_number": 2});
    fs::write(tmp.path().join("user_1/voxpersona_20250301_000000.txt"), b"body").expect("file");
    write_journal(
        tmp.path(),
        json!({"save": {"user_id": 1, "report_number": 2,
        "file_path": "user_1/voxpersona_20250301_000000.txt", "entry": entry}}),
    );
    // Our own temp file left by the crash: swept, not reported as an orphan.
    fs::write(tmp.path().join("user_1/.voxpersona_x.txt.vox-tmp.1.1"), b"partial").expect("temp");
    let storage = open(tmp.path());
    assert_eq!(storage.stats().recovered_operations, 1);
    assert_eq!(storage.stats().orphan_files, 0);
    assert!(!tmp.path().join("user_1/.voxpersona_x.txt.vox-tmp.1.1").exists());
    let index = read_index(tmp.path());
    assert_eq!(index.len(), 2);
    assert_eq!(index[1], entry);
    // Replaying again (a lost journal removal) does not append twice.
    write_journal(
        tmp.path(),
        json!({"save": {"user_id": 1, "report_number": 2,
        "file_path": "user_1/voxpersona_20250301_000000.txt", "entry": entry}}),
    );
    drop(open(tmp.path()));
    assert_eq!(read_index(tmp.path()).len(), 2);
}

#[test]
fn interrupted_save_without_its_file_is_rolled_back() {
    let tmp = TempDir::new("recover-save-early");
    write_legacy(tmp.path(), &[legacy_entry(1, 1, "2025-01-15T14:30:00", "a")]);
    let entry = json!({"file_path": "user_1/never.txt", "user_id": 1, "timestamp": "2025-03-01T00:00:00",
        "question": "q", "report_number": 2});
    write_journal(
        tmp.path(),
        json!({"save": {"user_id": 1, "report_number": 2, "file_path": "user_1/never.txt", "entry": entry}}),
    );
    let storage = open(tmp.path());
    assert_eq!(storage.list_blocking(1).expect("list").len(), 1);
    assert!(!tmp.path().join(".vox-journal.json").exists());
    assert_eq!(storage.stats().dangling_entries, 0);
}

#[test]
fn interrupted_rename_is_completed_before_the_next_write() {
    let tmp = TempDir::new("recover-rename");
    write_legacy(
        tmp.path(),
        &[legacy_entry(1, 1, "2025-01-15T14:30:00", "a"), legacy_entry(1, 2, "2025-01-16T14:30:00", "b")],
    );
    let storage = open(tmp.path());
    // The journal appears while the storage is open (another process crashed mid-rename).
    write_journal(
        tmp.path(),
        json!({"rename": {"user_id": 1, "report_number": 1,
        "file_path": "user_1/voxpersona_0001.txt", "new_title": "renamed"}}),
    );
    storage.delete_blocking(1, 2, "user_1/voxpersona_0002.txt").expect("delete");
    assert_eq!(storage.list_blocking(1).expect("list")[0].title, "renamed");
    assert_eq!(storage.stats().recovered_operations, 1);
}

/// A journal whose replay can never succeed (here: the counters a delete must
/// raise are corrupt, which the store refuses to overwrite) is set aside at the
/// first attempt instead of failing every later write of every user.
#[test]
fn a_journal_whose_replay_fails_for_good_is_set_aside_and_writes_go_on() {
    let tmp = TempDir::new("recover-wedged");
    write_legacy(
        tmp.path(),
        &[legacy_entry(1, 1, "2025-01-15T14:30:00", "a"), legacy_entry(2, 1, "2025-01-16T14:30:00", "b")],
    );
    fs::write(tmp.path().join(".vox-counters.json"), b"garbage").expect("corrupt counters");
    write_journal(
        tmp.path(),
        json!({"delete": {"user_id": 1, "report_number": 1, "file_path": "user_1/voxpersona_0001.txt"}}),
    );
    let storage = open(tmp.path());
    assert_eq!(storage.stats().journals_set_aside, 1);
    assert!(!tmp.path().join(".vox-journal.json").exists());
    let names: Vec<String> = fs::read_dir(tmp.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.starts_with(".vox-journal.json.failed-")), "{names:?}");
    // Another user's rename (it needs no number) works.
    let renamed = storage.rename_blocking(2, 1, "user_2/voxpersona_0001.txt", "новое").expect("rename");
    assert!(matches!(renamed, super::super::Renamed::Renamed { .. }));
    assert_eq!(read_index(tmp.path()).len(), 2, "the set-aside delete did not happen behind anyone's back");
}
