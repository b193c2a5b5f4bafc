//! The conformance suite on SQLite, and what only a durable store must show:
//! state and deadlines across a reopen, a damaged or newer file, the lock.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::super::conformance::{self, dialogue};
use super::super::{StateKey, StateStore, ValueKey};
use super::{OpenError, SqliteStore, from_unix_ms, schema, unix_ms};
use crate::metrics::{Collect, Scraped};

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("vox-state-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }

    fn store(&self) -> PathBuf {
        self.0.join("state.sqlite3")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The test plugin `p` declares step `ask` at `v2`.
fn resolve(
    plugin: &str,
    version: Option<&str>,
    step: &str,
) -> Option<(&'static str, Option<&'static str>, &'static str)> {
    (plugin == "p" && version == Some("v2") && step == "ask").then_some(("p", Some("v2"), "ask"))
}

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open_waiting(path, &resolve, Duration::from_secs(5)).expect("open")
}

fn close(store: SqliteStore) {
    store.close();
}

fn metric(store: &dyn Collect) -> String {
    let mut out = Scraped::default();
    store.collect(&mut out);
    format!("{out:?}")
}

/// Millisecond precision, as stored.
fn stored(t: SystemTime) -> SystemTime {
    from_unix_ms(unix_ms(t))
}

#[tokio::test]
async fn sqlite_store_conforms() {
    let dir = Dir::new("conform");
    conformance::basics(&open(&dir.store()), conformance::Expiry::Sweep).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_keeps_concurrent_writers_apart_and_on_disk() {
    let dir = Dir::new("concurrent");
    let store = Arc::new(open(&dir.store()));
    conformance::concurrent_writers(Arc::clone(&store) as Arc<dyn StateStore>).await;
    let store = Arc::into_inner(store).expect("one owner");
    close(store);
    let reopened = open(&dir.store());
    for chat in 0..32i64 {
        let got = reopened.get(StateKey { chat, user: chat }).await.expect("get");
        assert_eq!(got, Some(dialogue(19, None)), "chat {chat} after reopen");
    }
}

#[tokio::test]
async fn dialogues_values_and_deadlines_survive_a_reopen_and_expire_by_the_wall_clock() {
    let dir = Dir::new("reopen");
    let key = StateKey { chat: 7, user: 8 };
    let soon = SystemTime::now() + Duration::from_millis(300);
    let later = SystemTime::now() + Duration::from_secs(600);
    let value = ValueKey { plugin: "p", key, name: "list".into() };
    {
        let store = open(&dir.store());
        store.set(key, dialogue(5, Some(soon))).await.expect("set");
        store.set(StateKey { chat: 7, user: 9 }, dialogue(6, Some(later))).await.expect("set");
        store.set_value(value.clone(), r#"{"n":[1,2,3]}"#.into(), soon).await.expect("set value");
        close(store);
    }
    let store = open(&dir.store());
    let got = store.get(key).await.expect("get").expect("kept");
    assert_eq!(got, dialogue(5, Some(stored(soon))), "step, data, version and deadline kept");
    assert!(!got.is_expired(SystemTime::now()));
    assert_eq!(
        store.get_value(&value, SystemTime::now()).await.expect("get").as_deref(),
        Some(r#"{"n":[1,2,3]}"#)
    );
    close(store);

    std::thread::sleep(Duration::from_millis(400));
    let store = open(&dir.store());
    let got =
        store.get(key).await.expect("get").expect("an expired dialogue is kept for its plugin to be told");
    assert!(got.is_expired(SystemTime::now()), "its time ran out while the store was closed");
    assert_eq!(store.get_value(&value, SystemTime::now()).await.expect("get"), None, "the value expired too");
    assert_eq!(store.purge_expired(SystemTime::now()).await.expect("purge"), 2, "the dialogue and the value");
    assert_eq!(store.len(), 1, "the other dialogue is still open");
}

#[tokio::test]
async fn a_dialogue_whose_step_no_plugin_declares_is_dropped_logged_and_counted() {
    let dir = Dir::new("orphan");
    {
        let store = open(&dir.store());
        store.set(StateKey { chat: 1, user: 1 }, dialogue(1, None)).await.expect("set");
        let mut gone = dialogue(2, None);
        gone.step = "renamed_away";
        store.set(StateKey { chat: 2, user: 2 }, gone).await.expect("set");
        close(store);
    }
    let store = open(&dir.store());
    assert_eq!(store.len(), 1);
    assert_eq!(store.dropped, 1);
    assert!(metric(&store).contains("vox_state_dialogues_dropped"), "on /metrics");
    close(store);
    assert_eq!(open(&dir.store()).dropped, 0, "dropped from the file, not only from memory");
}

#[tokio::test]
async fn a_damaged_file_is_set_aside_counted_and_a_fresh_store_serves() {
    for (tag, damage) in [("garbage", 0usize), ("truncated", 1)] {
        let dir = Dir::new(tag);
        if damage == 0 {
            std::fs::write(dir.store(), b"this is not a database, it is a note somebody saved here")
                .expect("write");
        } else {
            let store = open(&dir.store());
            for chat in 0..2000 {
                store.set(StateKey { chat, user: chat }, dialogue(1, None)).await.expect("set");
            }
            close(store);
            let len = std::fs::metadata(dir.store()).expect("file").len();
            let file = std::fs::OpenOptions::new().write(true).open(dir.store()).expect("open");
            file.set_len(len / 2).expect("truncate");
        }
        let store = open(&dir.store());
        assert!(store.is_empty(), "{tag}: starts with no dialogues");
        assert_eq!(store.set_aside, 1, "{tag}: counted");
        let moved: Vec<_> = std::fs::read_dir(&dir.0)
            .expect("list")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| {
                n.starts_with("state.sqlite3.damaged-") && !n.ends_with("-wal") && !n.ends_with("-shm")
            })
            .collect();
        assert_eq!(moved.len(), 1, "{tag}: the damaged file is kept aside: {moved:?}");
        store
            .set(StateKey { chat: 1, user: 1 }, dialogue(1, None))
            .await
            .expect("the fresh store takes writes");
    }
}

#[test]
fn a_store_from_a_newer_binary_is_refused_naming_the_file() {
    let dir = Dir::new("newer");
    schema::create_at(&dir.store(), schema::LATEST).expect("create");
    let conn = rusqlite::Connection::open(dir.store()).expect("open");
    conn.pragma_update(None, "user_version", schema::LATEST + 1).expect("bump");
    drop(conn);
    let err = SqliteStore::open_waiting(&dir.store(), &resolve, Duration::ZERO).err().expect("refused");
    assert!(matches!(err, OpenError::Newer { found, .. } if found == schema::LATEST + 1));
    assert!(err.to_string().contains(&dir.store().display().to_string()), "{err}");
}

#[tokio::test]
async fn an_older_store_is_migrated_keeping_its_dialogues() {
    let dir = Dir::new("migrate");
    schema::create_at(&dir.store(), 1).expect("create v1");
    let conn = rusqlite::Connection::open(dir.store()).expect("open");
    conn.execute(
        "INSERT INTO dialogues VALUES (3, 4, 'p', 'v2', 'ask', '{\"n\":1,\"title\":\"Отчёт «1»\"}', NULL)",
        [],
    )
    .expect("insert");
    drop(conn);
    let store = open(&dir.store());
    assert_eq!(store.get(StateKey { chat: 3, user: 4 }).await.expect("get"), Some(dialogue(1, None)));
    let value = ValueKey { plugin: "p", key: StateKey { chat: 3, user: 4 }, name: "list".into() };
    let later = SystemTime::now() + Duration::from_secs(60);
    store.set_value(value, "1".into(), later).await.expect("the table version 2 adds is there");
}

#[test]
fn a_second_process_on_the_same_store_is_refused() {
    let dir = Dir::new("locked");
    let _first = open(&dir.store());
    let err =
        SqliteStore::open_waiting(&dir.store(), &resolve, Duration::from_millis(100)).err().expect("refused");
    assert!(matches!(err, OpenError::Locked { .. }), "{err}");
}
