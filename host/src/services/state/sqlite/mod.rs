//! The durable state store, the default of `vox-host run`: SQLite in
//! write-ahead-log mode in one file under `host.data_dir`, no server to run.
//!
//! Dialogues are read from memory: every open dialogue is loaded at start and
//! each write goes to the in-memory copy and, in the same order, to the
//! writer thread (`worker.rs`), whose commit `set` waits for — so what a handler
//! was told is stored survives the process being killed, and a read costs a
//! hash lookup. Plugins' values (larger, read rarely) are read from the file.
//! A write the file refused is undone in memory too, so the process never
//! serves a state the next start would not have. In webhook mode the same
//! file keeps accepted updates until they are handled (`inbox.rs`). Why
//! SQLite and not redb: docs/RELIABILITY.md.

mod inbox;
mod schema;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, SystemTime};

use rusqlite::Connection;
use tokio::sync::oneshot;

pub use inbox::Inbox;
pub use schema::{LATEST as SCHEMA_VERSION, OpenError};
use worker::{Op, Row, ValueAddr};

use super::{DialogueState, MemoryStore, StateError, StateKey, StateStore, ValueKey, from_unix_ms, unix_ms};
use crate::metrics::{Collect, Kind, Scraped};

/// Maps stored names back to the linked plugins' own (`plugin`, `version`,
/// `step`); `None` when no linked plugin declares that step any more.
pub type Resolve<'a> =
    &'a dyn Fn(&str, Option<&str>, &str) -> Option<(&'static str, Option<&'static str>, &'static str)>;

/// SQLite-backed dialogue state; see the module documentation.
pub struct SqliteStore {
    path: PathBuf,
    mirror: MemoryStore,
    /// Taken around "change memory, queue the write", so the file sees one
    /// key's writes in the order memory did.
    queue: Mutex<mpsc::Sender<Op>>,
    write_errors: AtomicU64,
    set_aside: u64,
    dropped: u64,
    writer: Option<std::thread::JoinHandle<()>>,
}

fn closed() -> StateError {
    StateError("the state store's writer has stopped".into())
}

impl SqliteStore {
    /// Opens (creating, migrating, or setting a damaged file aside) the store
    /// at `path` and loads its open dialogues; `resolve` names their owners.
    pub fn open(path: &Path, resolve: Resolve<'_>) -> Result<Self, OpenError> {
        Self::open_waiting(path, resolve, schema::LOCK_WAIT)
    }

    fn open_waiting(path: &Path, resolve: Resolve<'_>, wait: Duration) -> Result<Self, OpenError> {
        let schema::Opened { conn, lock, set_aside } = schema::open(path, wait)?;
        let mirror = MemoryStore::default();
        let unusable =
            |e: rusqlite::Error| OpenError::Unusable { path: path.to_owned(), message: e.to_string() };
        let dropped = load(&conn, &mirror, resolve).map_err(unusable)?;
        let (queue, ops) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("vox-state".into())
            .spawn(move || worker::run(conn, lock, ops))
            .map_err(|e| OpenError::Unusable {
                path: path.to_owned(),
                message: format!("no writer thread: {e}"),
            })?;
        tracing::info!(store = %path.display(), dialogues = mirror.len(), "state store open");
        Ok(Self {
            path: path.to_owned(),
            mirror,
            queue: Mutex::new(queue),
            write_errors: AtomicU64::new(0),
            set_aside: u64::from(set_aside.is_some()),
            dropped,
            writer: Some(writer),
        })
    }

    /// Lets the writer finish what is queued, close the file and let go of
    /// its lock; returns when it has (dropping the store does the same
    /// without waiting).
    pub fn close(mut self) {
        let writer = self.writer.take();
        drop(self);
        if let Some(writer) = writer
            && writer.join().is_err()
        {
            tracing::error!("the state store's writer panicked");
        }
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many dialogues are open.
    pub fn len(&self) -> usize {
        self.mirror.len()
    }

    /// Whether no dialogue is open.
    pub fn is_empty(&self) -> bool {
        self.mirror.is_empty()
    }

    /// Runs `change` on memory and queues `op` as one step in the store's order.
    fn queued<T>(&self, change: impl FnOnce(&MemoryStore) -> T, op: Op) -> Result<T, StateError> {
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let changed = change(&self.mirror);
        queue.send(op).map_err(|_| closed())?;
        Ok(changed)
    }

    async fn wait<T>(&self, reply: oneshot::Receiver<Result<T, StateError>>) -> Result<T, StateError> {
        let result = reply.await.unwrap_or_else(|_| Err(closed()));
        if let Err(e) = &result {
            self.write_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(store = %self.path.display(), error = %e, "state store write failed");
        }
        result
    }

    /// Puts `prev` back for `key` if memory still holds what the failed write put there.
    fn undo(&self, key: StateKey, written: Option<&DialogueState>, prev: Option<DialogueState>) {
        let _queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if self.mirror.peek(key).as_ref() == written {
            match prev {
                Some(prev) => drop(self.mirror.put(key, prev)),
                None => drop(self.mirror.take(key)),
            }
        }
    }

    fn send_only(&self, op: Op) -> Result<(), StateError> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).send(op).map_err(|_| closed())
    }
}

/// Loads every stored dialogue into `mirror`; drops (from the file too) the
/// ones no linked plugin declares any more, or whose data is not JSON.
fn load(conn: &Connection, mirror: &MemoryStore, resolve: Resolve<'_>) -> rusqlite::Result<u64> {
    let mut orphans = Vec::new();
    {
        let mut rows =
            conn.prepare("SELECT chat, user, plugin, version, step, data, deadline_ms FROM dialogues")?;
        let mut rows = rows.query([])?;
        while let Some(row) = rows.next()? {
            let key = StateKey { chat: row.get(0)?, user: row.get(1)? };
            let plugin: String = row.get(2)?;
            let version: Option<String> = row.get(3)?;
            let step: String = row.get(4)?;
            let data: String = row.get(5)?;
            let deadline: Option<i64> = row.get(6)?;
            let owner = resolve(&plugin, version.as_deref(), &step);
            match (owner, serde_json::from_str(&data)) {
                (Some((plugin, version, step)), Ok(data)) => {
                    let deadline = deadline.map(from_unix_ms);
                    mirror.put(key, DialogueState { plugin, version, step, data, deadline });
                }
                (owner, _) => {
                    tracing::warn!(
                        chat = key.chat,
                        user = key.user,
                        plugin,
                        step,
                        reason = if owner.is_none() {
                            "no linked plugin declares the step"
                        } else {
                            "data is not JSON"
                        },
                        "stored dialogue dropped",
                    );
                    orphans.push(key);
                }
            }
        }
    }
    for key in &orphans {
        conn.execute("DELETE FROM dialogues WHERE chat = ?1 AND user = ?2", [key.chat, key.user])?;
    }
    Ok(orphans.len() as u64)
}

#[async_trait::async_trait]
impl StateStore for SqliteStore {
    async fn get(&self, key: StateKey) -> Result<Option<DialogueState>, StateError> {
        Ok(self.mirror.peek(key))
    }

    async fn set(&self, key: StateKey, state: DialogueState) -> Result<(), StateError> {
        let row = Row {
            plugin: state.plugin,
            version: state.version,
            step: state.step,
            data: state.data.to_string(),
            deadline_ms: state.deadline.map(unix_ms),
        };
        let (tx, rx) = oneshot::channel();
        let written = state.clone();
        let prev = self.queued(|m| m.put(key, state), Op::SetDialogue(key, row, tx))?;
        let result = self.wait(rx).await;
        if result.is_err() {
            self.undo(key, Some(&written), prev);
        }
        result
    }

    async fn remove(&self, key: StateKey) -> Result<Option<DialogueState>, StateError> {
        let (tx, rx) = oneshot::channel();
        let prev = self.queued(|m| m.take(key), Op::RemoveDialogue(key, tx))?;
        match self.wait(rx).await {
            Ok(()) => Ok(prev),
            Err(e) => {
                self.undo(key, None, prev);
                Err(e)
            }
        }
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StateError> {
        let (tx, rx) = oneshot::channel();
        let dialogues = self.queued(|m| m.purge_dialogues(now), Op::Purge(unix_ms(now), tx))?;
        Ok(dialogues + self.wait(rx).await?)
    }

    async fn get_value(&self, key: &ValueKey, now: SystemTime) -> Result<Option<String>, StateError> {
        let (tx, rx) = oneshot::channel();
        let addr = ValueAddr { plugin: key.plugin, key: key.key, name: key.name.clone() };
        self.send_only(Op::GetValue(addr, unix_ms(now), tx))?;
        self.wait(rx).await
    }

    async fn set_value(&self, key: ValueKey, value: String, expires: SystemTime) -> Result<(), StateError> {
        let (tx, rx) = oneshot::channel();
        let addr = ValueAddr { plugin: key.plugin, key: key.key, name: key.name };
        self.send_only(Op::SetValue(addr, value, unix_ms(expires), tx))?;
        self.wait(rx).await
    }

    async fn remove_value(&self, key: &ValueKey) -> Result<(), StateError> {
        let (tx, rx) = oneshot::channel();
        let addr = ValueAddr { plugin: key.plugin, key: key.key, name: key.name.clone() };
        self.send_only(Op::RemoveValue(addr, tx))?;
        self.wait(rx).await
    }
}

impl Collect for SqliteStore {
    fn collect(&self, out: &mut Scraped) {
        super::dialogues_gauge(out, "sqlite", self.len());
        out.one(
            "vox_state_write_errors",
            "State store writes that failed (the handler was told; memory was undone)",
            Kind::Counter,
            self.write_errors.load(Ordering::Relaxed) as f64,
        );
        out.one(
            "vox_state_store_set_aside",
            "Damaged state store files moved aside at start (the host started with no open dialogues)",
            Kind::Counter,
            self.set_aside as f64,
        );
        out.one(
            "vox_state_dialogues_dropped",
            "Stored dialogues dropped at start: no linked plugin declares their step, or their data is not JSON",
            Kind::Counter,
            self.dropped as f64,
        );
    }
}

#[cfg(test)]
mod tests;
