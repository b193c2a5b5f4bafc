//! The legacy Python side and vox-host on one reports directory at once: a
//! Python process appends 500 reports through `python/vox_report_store.py`
//! while this process (the store vox-host serves with) renames and deletes
//! the users' existing reports. Afterwards nothing is lost on either side:
//! every appended report is in the index once with a number of its own, and
//! every rename and delete took effect.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDateTime;
use vox_report_store::{Deleted, NewReport, Renamed, Storage, StorageError};

const USERS: [i64; 5] = [11, 12, 13, 14, 15];
const SEEDED: u32 = 30;
const APPENDS: usize = 500;

fn helper_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

fn seed(storage: &Storage) {
    for user in USERS {
        for n in 1..=SEEDED {
            storage
                .save_report_blocking(NewReport {
                    user_id: user,
                    username: Some("legacy".into()),
                    title: format!("Отчет {n}"),
                    search_type: "fast".into(),
                    tokens: 1,
                    content: format!("seeded {n}").into_bytes(),
                    timestamp: NaiveDateTime::parse_from_str(
                        &format!("2025-01-{:02}T10:00:00", n % 28 + 1),
                        "%Y-%m-%dT%H:%M:%S",
                    )
                    .ok(),
                    job_id: None,
                })
                .expect("seed");
        }
    }
}

const DRIVER: &str = r#"
import sys
sys.path.insert(0, sys.argv[1])
import vox_report_store as vrs
directory, count, users = sys.argv[2], int(sys.argv[3]), [int(u) for u in sys.argv[4].split(",")]
for i in range(count):
    user = users[i % len(users)]
    vrs.append_report(directory, user, "Новый отчет %d" % i, "текст %d" % i,
                      username="py", search_type="deep", tokens=i, job_id="job-%d" % i, timeout=30)
print("appended", count)
"#;

/// Runs `write` until it is not refused as Busy (at most 20 times).
fn retry_busy<T>(busy: &mut u32, mut write: impl FnMut() -> Result<T, StorageError>) -> T {
    for _ in 0..20 {
        match write() {
            Err(StorageError::Busy) => *busy += 1,
            other => return other.expect("the write succeeds"),
        }
    }
    panic!("the store stayed busy for 20 lock timeouts");
}

#[test]
fn python_appends_and_host_renames_and_deletes_lose_nothing() {
    let dir = std::env::temp_dir().join(format!("vox-coexist-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let storage = Storage::open(&dir).expect("open");
    seed(&storage);
    let users: Vec<String> = USERS.iter().map(i64::to_string).collect();
    let mut python = Command::new("python3")
        .arg("-c")
        .arg(DRIVER)
        .arg(helper_dir())
        .arg(&dir)
        .arg(APPENDS.to_string())
        .arg(users.join(","))
        .spawn()
        .expect("python3 runs (installed by .ci/run)");

    // Meanwhile: delete every even seeded report and rename every odd one.
    let mut renamed = 0;
    let mut deleted = 0;
    // A writer that waited out the lock timeout while the appender held the
    // lock is told Busy — what a user sees as "try again"; the test tries again.
    let mut busy = 0u32;
    for n in 1..=SEEDED {
        // Spread over the Python run, so the two sides really interleave.
        std::thread::sleep(std::time::Duration::from_millis(40));
        for user in USERS {
            let path = storage.get_blocking(user, n).expect("get").expect("seeded report").file_path;
            if n % 2 == 0 {
                let r = retry_busy(&mut busy, || storage.delete_blocking(user, n, &path));
                assert!(matches!(r, Deleted::Deleted(_)));
                deleted += 1;
            } else {
                let r = retry_busy(&mut busy, || {
                    storage.rename_blocking(user, n, &path, &format!("Переименован {n}"))
                });
                assert!(matches!(r, Renamed::Renamed { .. }));
                renamed += 1;
            }
        }
    }
    let status = python.wait().expect("python ends");
    assert!(status.success(), "the Python appender failed: {status:?}");

    let reopened = Storage::open(&dir).expect("reopen");
    let consistency = reopened.check_consistency_blocking().expect("check");
    let mut jobs: BTreeMap<String, usize> = BTreeMap::new();
    for user in USERS {
        let reports = reopened.list_blocking(user).expect("list");
        let numbers: BTreeSet<u32> = reports.iter().map(|r| r.number).collect();
        assert_eq!(numbers.len(), reports.len(), "user {user}: numbers are distinct");
        for r in &reports {
            if let Some(job) = &r.job_id {
                *jobs.entry(job.clone()).or_default() += 1;
                assert!(r.number > SEEDED, "user {user}: an appended report never takes a seeded number");
                assert!(dir.join(&r.file_path).exists(), "its file is there");
            } else {
                assert!(r.number % 2 == 1, "user {user}: deleted report {} is back", r.number);
                assert_eq!(r.title, format!("Переименован {}", r.number), "user {user}: the rename held");
            }
        }
        for n in (2..=SEEDED).step_by(2) {
            assert!(
                reports.iter().all(|r| r.number != n || r.job_id.is_some()),
                "user {user}: {n} stays deleted"
            );
        }
    }
    assert_eq!(jobs.len(), APPENDS, "every appended report is in the index");
    assert!(jobs.values().all(|&c| c == 1), "each once");
    assert_eq!((renamed, deleted), (75, 75));
    println!(
        "{renamed} renames and {deleted} deletes beside {APPENDS} appends; {busy} were told Busy and retried"
    );
    assert!(consistency.orphan_files.is_empty(), "every file has its entry: {:?}", consistency.orphan_files);
    assert!(
        consistency.dangling_entries.is_empty(),
        "every entry has its file: {:?}",
        consistency.dangling_entries
    );
    assert_eq!(consistency.malformed_entries, 0);
    let _ = std::fs::remove_dir_all(&dir);
}
