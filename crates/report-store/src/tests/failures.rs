//! Writes that fail part-way in the operation's own session: the caller is
//! told the truth, and no later write completes behind their back an
//! operation they were told failed. Also the replay of a journal that fails
//! for a while (a disk being cleaned) and then succeeds, or does not.

use std::fs;
use std::io::ErrorKind;

use super::super::faults::{self, Call};
use super::super::testutil::{TempDir, legacy_entry, read_index, write_legacy};
use super::super::{Deleted, Renamed};
use super::recovery::write_journal;
use super::{new_report, open};

fn two_reports(tag: &str) -> TempDir {
    let tmp = TempDir::new(tag);
    write_legacy(
        tmp.path(),
        &[legacy_entry(1, 1, "2025-01-15T14:30:00", "a"), legacy_entry(2, 1, "2025-01-16T14:30:00", "b")],
    );
    tmp
}

/// The journal another process left when it crashed mid-rename of user 1's report 1.
fn interrupted_rename(tmp: &TempDir) {
    let intent = serde_json::json!({"rename": {"user_id": 1, "report_number": 1,
        "file_path": "user_1/voxpersona_0001.txt", "new_title": "после сбоя"}});
    write_journal(tmp.path(), intent);
}

fn title(tmp: &TempDir, user: i64) -> String {
    let index = read_index(tmp.path());
    let entry = index.iter().find(|e| e["user_id"] == user).expect("entry");
    entry["question"].as_str().expect("title").to_owned()
}

#[test]
fn a_rename_told_failed_never_happens_later() {
    let tmp = two_reports("fail-rename");
    let storage = open(tmp.path());
    faults::inject(Call::Write, "index.json", 1, ErrorKind::StorageFull);
    let failed = storage.rename_blocking(1, 1, "user_1/voxpersona_0001.txt", "новое");
    assert!(failed.is_err(), "the disk was full: {failed:?}");
    assert!(!tmp.path().join(".vox-journal.json").exists(), "nothing left to replay");
    // Another user's write: it must not roll the failed rename forward.
    storage.rename_blocking(2, 1, "user_2/voxpersona_0001.txt", "другое").expect("rename");
    assert_eq!(title(&tmp, 1), "a", "told failed, stays undone");
    assert_eq!(title(&tmp, 2), "другое");
    assert_eq!(storage.stats().recovered_operations, 0);
    faults::clear();
}

#[test]
fn a_delete_told_failed_never_happens_later() {
    let tmp = two_reports("fail-delete");
    let storage = open(tmp.path());
    faults::inject(Call::Write, "index.json", 1, ErrorKind::StorageFull);
    let failed = storage.delete_blocking(1, 1, "user_1/voxpersona_0001.txt");
    assert!(failed.is_err(), "{failed:?}");
    storage.rename_blocking(2, 1, "user_2/voxpersona_0001.txt", "другое").expect("rename");
    assert_eq!(read_index(tmp.path()).len(), 2, "the entry is still there");
    assert!(tmp.path().join("user_1/voxpersona_0001.txt").exists(), "and its file");
    // The number it was about is still the user's: a retry deletes it.
    let retried = storage.delete_blocking(1, 1, "user_1/voxpersona_0001.txt").expect("retry");
    assert!(matches!(retried, Deleted::Deleted(_)));
    faults::clear();
}

#[test]
fn a_delete_whose_entry_is_gone_but_file_stays_is_told_done_and_the_file_goes_next() {
    let tmp = two_reports("fail-unlink");
    let storage = open(tmp.path());
    faults::inject(Call::Remove, "voxpersona_0001.txt", 1, ErrorKind::StorageFull);
    let deleted = storage
        .delete_blocking(1, 1, "user_1/voxpersona_0001.txt")
        .expect("the report is gone from the list");
    assert!(matches!(deleted, Deleted::Deleted(_)));
    assert_eq!(read_index(tmp.path()).len(), 1);
    assert!(tmp.path().join("user_1/voxpersona_0001.txt").exists(), "the file waits for the next write");
    storage.rename_blocking(2, 1, "user_2/voxpersona_0001.txt", "другое").expect("rename");
    assert!(!tmp.path().join("user_1/voxpersona_0001.txt").exists(), "finished by the next write");
    faults::clear();
}

#[test]
fn a_save_told_failed_leaves_no_report_and_no_file() {
    let tmp = two_reports("fail-save");
    let storage = open(tmp.path());
    faults::inject(Call::Write, "index.json", 1, ErrorKind::StorageFull);
    let failed = storage.save_report_blocking(new_report(1, "новый", Some("2025-02-01T10:00:00")));
    assert!(failed.is_err(), "{failed:?}");
    storage.rename_blocking(2, 1, "user_2/voxpersona_0001.txt", "другое").expect("rename");
    assert_eq!(storage.list_blocking(1).expect("list").len(), 1, "no report appeared later");
    let files: Vec<_> = fs::read_dir(tmp.path().join("user_1")).expect("dir").collect();
    assert_eq!(files.len(), 1, "its file was removed: {files:?}");
    faults::clear();
}

#[test]
fn a_replay_that_fails_twice_then_succeeds_completes_the_operation() {
    let tmp = two_reports("replay-transient");
    let storage = open(tmp.path());
    interrupted_rename(&tmp);
    faults::inject(Call::Write, "index.json", 2, ErrorKind::StorageFull);
    for attempt in 1..=2 {
        let r = storage.rename_blocking(2, 1, "user_2/voxpersona_0001.txt", "другое");
        assert!(r.is_err(), "attempt {attempt}: the replay comes first and the disk is full");
        assert!(tmp.path().join(".vox-journal.json").exists(), "kept for the next try");
    }
    let renamed = storage.rename_blocking(2, 1, "user_2/voxpersona_0001.txt", "другое").expect("disk freed");
    assert!(matches!(renamed, Renamed::Renamed { .. }));
    assert_eq!(title(&tmp, 1), "после сбоя", "the interrupted rename completed");
    assert_eq!(storage.stats().recovered_operations, 1);
    assert_eq!(storage.stats().journals_set_aside, 0);
    faults::clear();
}

#[test]
fn a_replay_that_keeps_failing_is_set_aside_at_the_third_attempt() {
    let tmp = two_reports("replay-stuck");
    let storage = open(tmp.path());
    interrupted_rename(&tmp);
    faults::inject(Call::Write, "index.json", 3, ErrorKind::StorageFull);
    for _ in 1..=2 {
        assert!(storage.rename_blocking(2, 1, "user_2/voxpersona_0001.txt", "другое").is_err());
    }
    // The third failed replay sets the journal aside; this write itself goes on.
    storage.rename_blocking(2, 1, "user_2/voxpersona_0001.txt", "другое").expect("writes go on");
    assert_eq!(storage.stats().journals_set_aside, 1);
    assert_eq!(title(&tmp, 1), "a", "the stuck rename was not applied");
    assert_eq!(title(&tmp, 2), "другое");
    faults::clear();
}
