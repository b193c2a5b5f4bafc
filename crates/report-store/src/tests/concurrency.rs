//! Several writers on one directory: separate `Storage` instances (as separate processes would
//! be) and clones of one instance.

use std::collections::HashSet;
use std::time::Duration;

use super::super::testutil::{TempDir, legacy_entry, read_index, write_legacy};
use super::super::{Deleted, Storage, StorageError, StorageOptions, lock::IndexLock};
use super::{new_report, open};

#[test]
fn concurrent_writers_never_lose_an_entry() {
    let tmp = TempDir::new("concurrent");
    write_legacy(tmp.path(), &[legacy_entry(1, 1, "2025-01-15T14:30:00", "keep")]);
    let first = open(tmp.path());
    let second = open(tmp.path());
    let writers: Vec<(Storage, i64)> =
        vec![(first.clone(), 10), (second.clone(), 20), (first.clone(), 30), (second, 40)];
    std::thread::scope(|scope| {
        for (storage, user) in &writers {
            scope.spawn(move || {
                for i in 0..15 {
                    let saved = storage
                        .save_report_blocking(new_report(*user, &format!("r{i}"), None))
                        .expect("save");
                    if i % 5 == 4 {
                        let deleted =
                            storage.delete_blocking(*user, saved.number, &saved.file_path).expect("delete");
                        assert!(matches!(deleted, Deleted::Deleted(_)));
                    }
                    // Everyone renames the shared entry too.
                    storage
                        .rename_blocking(1, 1, "user_1/voxpersona_0001.txt", &format!("by {user}"))
                        .expect("rename");
                }
            });
        }
    });
    let index = read_index(tmp.path());
    assert_eq!(index.len(), 1 + 4 * 12);
    for user in [10, 20, 30, 40] {
        let numbers: Vec<u64> = index
            .iter()
            .filter(|e| e["user_id"] == user)
            .filter_map(|e| e["report_number"].as_u64())
            .collect();
        assert_eq!(numbers.len(), 12, "user {user}");
        assert_eq!(numbers.iter().collect::<HashSet<_>>().len(), 12, "numbers unique for user {user}");
        assert_eq!(first.list_blocking(user).expect("list").len(), 12);
    }
    assert_eq!(first.check_consistency_blocking().expect("check").orphan_files, Vec::<String>::new());
}

#[test]
fn a_held_lock_makes_writers_busy_but_not_readers() {
    let tmp = TempDir::new("busy");
    write_legacy(tmp.path(), &[legacy_entry(1, 1, "2025-01-15T14:30:00", "a")]);
    let options = StorageOptions { lock_timeout: Duration::from_millis(50) };
    let storage = Storage::open_with(tmp.path(), options).expect("open");
    let held = IndexLock::acquire(&tmp.path().join(".vox-index.lock"), Duration::from_secs(1)).expect("lock");
    let result = storage.rename_blocking(1, 1, "user_1/voxpersona_0001.txt", "b");
    assert!(matches!(result, Err(StorageError::Busy)), "{result:?}");
    assert_eq!(storage.list_blocking(1).expect("readers need no lock").len(), 1);
    drop(held);
    assert!(storage.rename_blocking(1, 1, "user_1/voxpersona_0001.txt", "b").is_ok());
}
