//! The store's one writer: a thread that owns the connection and applies the
//! queued operations in order, many per transaction (group commit), answering
//! each after its transaction committed. Blocking SQLite calls stay off the
//! async executor; the queue keeps every write to one key in the order the
//! store made it.

use std::sync::mpsc;

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use super::super::{StateError, StateKey};

/// At most this many operations share one transaction.
const BATCH: usize = 256;

/// One dialogue row as stored.
#[derive(Debug, Clone)]
pub struct Row {
    pub plugin: &'static str,
    pub version: Option<&'static str>,
    pub step: &'static str,
    pub data: String,
    pub deadline_ms: Option<i64>,
}

/// A plugin value's address as stored.
#[derive(Debug, Clone)]
pub struct ValueAddr {
    pub plugin: &'static str,
    pub key: StateKey,
    pub name: String,
}

type Reply<T> = oneshot::Sender<Result<T, StateError>>;

/// What the store asks its writer for.
pub enum Op {
    SetDialogue(StateKey, Row, Reply<()>),
    RemoveDialogue(StateKey, Reply<()>),
    SetValue(ValueAddr, String, i64, Reply<()>),
    RemoveValue(ValueAddr, Reply<()>),
    GetValue(ValueAddr, i64, Reply<Option<String>>),
    /// Drops dialogues and values expired at the time; answers how many values went.
    Purge(i64, Reply<usize>),
    /// Keeps an accepted update (id, body, now); answers false when it is kept already.
    InboxKeep(u32, String, i64, Reply<bool>),
    /// Forgets a handled update (nobody waits for it).
    InboxHandled(u32),
    /// The kept updates, oldest id first.
    InboxWaiting(Reply<Vec<(u32, String)>>),
}

/// An operation's result, sent once its transaction is known to have committed.
enum Done {
    Unit(Reply<()>, Result<(), StateError>),
    Value(Reply<Option<String>>, Result<Option<String>, StateError>),
    Count(Reply<usize>, Result<usize, StateError>),
    Flag(Reply<bool>, Result<bool, StateError>),
    Rows(Reply<Vec<(u32, String)>>, Result<Vec<(u32, String)>, StateError>),
    /// Nobody to tell (a failure is logged).
    Unwatched(Result<(), StateError>),
}

impl Done {
    fn fail(self, e: &str) -> Self {
        let err = || StateError(format!("commit failed: {e}"));
        match self {
            Done::Unit(r, _) => Done::Unit(r, Err(err())),
            Done::Value(r, _) => Done::Value(r, Err(err())),
            Done::Count(r, _) => Done::Count(r, Err(err())),
            Done::Flag(r, _) => Done::Flag(r, Err(err())),
            Done::Rows(r, _) => Done::Rows(r, Err(err())),
            Done::Unwatched(_) => Done::Unwatched(Err(err())),
        }
    }

    fn send(self) {
        // A caller that stopped waiting has nothing to be told.
        let _ = match self {
            Done::Unit(r, v) => r.send(v).map_err(drop),
            Done::Value(r, v) => r.send(v).map_err(drop),
            Done::Count(r, v) => r.send(v).map_err(drop),
            Done::Flag(r, v) => r.send(v).map_err(drop),
            Done::Rows(r, v) => r.send(v).map_err(drop),
            Done::Unwatched(v) => {
                if let Err(e) = v {
                    // The update was handled; its row replays at the next start (at-least-once).
                    tracing::warn!(error = %e, "forgetting a handled update failed; the next start handles it again");
                }
                Ok(())
            }
        };
    }
}

fn failed(e: rusqlite::Error) -> StateError {
    StateError(e.to_string())
}

/// Serves `ops` until every sender is gone, then closes the connection (which
/// checkpoints the log) and lets go of the lock.
pub fn run(mut conn: Connection, lock: std::fs::File, ops: mpsc::Receiver<Op>) {
    while let Ok(first) = ops.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match ops.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        apply_batch(&mut conn, batch);
    }
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "state store did not close cleanly; the next start recovers from its log");
    }
    drop(lock);
}

fn apply_batch(conn: &mut Connection, batch: Vec<Op>) {
    let tx = match conn.transaction() {
        Ok(tx) => tx,
        Err(e) => {
            let why = e.to_string();
            batch.into_iter().map(|op| pending(op).fail(&why)).for_each(Done::send);
            return;
        }
    };
    let done: Vec<Done> = batch.into_iter().map(|op| apply(&tx, op)).collect();
    match tx.commit() {
        Ok(()) => done.into_iter().for_each(Done::send),
        Err(e) => {
            let why = e.to_string();
            tracing::error!(error = %why, "state store commit failed");
            done.into_iter().map(|d| d.fail(&why)).for_each(Done::send);
        }
    }
}

/// An operation's reply slot with no result yet (the batch failed before it ran).
fn pending(op: Op) -> Done {
    match op {
        Op::SetDialogue(_, _, r)
        | Op::RemoveDialogue(_, r)
        | Op::SetValue(_, _, _, r)
        | Op::RemoveValue(_, r) => Done::Unit(r, Ok(())),
        Op::GetValue(_, _, r) => Done::Value(r, Ok(None)),
        Op::Purge(_, r) => Done::Count(r, Ok(0)),
        Op::InboxKeep(_, _, _, r) => Done::Flag(r, Ok(false)),
        Op::InboxHandled(_) => Done::Unwatched(Ok(())),
        Op::InboxWaiting(r) => Done::Rows(r, Ok(Vec::new())),
    }
}

fn apply(tx: &rusqlite::Transaction<'_>, op: Op) -> Done {
    match op {
        Op::SetDialogue(key, row, reply) => {
            let r = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO dialogues (chat, user, plugin, version, step, data, deadline_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        key.chat,
                        key.user,
                        row.plugin,
                        row.version,
                        row.step,
                        row.data,
                        row.deadline_ms
                    ])
                });
            Done::Unit(reply, r.map(drop).map_err(failed))
        }
        Op::RemoveDialogue(key, reply) => {
            let r = tx
                .prepare_cached("DELETE FROM dialogues WHERE chat = ?1 AND user = ?2")
                .and_then(|mut s| s.execute(params![key.chat, key.user]));
            Done::Unit(reply, r.map(drop).map_err(failed))
        }
        Op::SetValue(addr, value, expires_ms, reply) => {
            let r = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO plugin_values (plugin, chat, user, name, value, expires_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        addr.plugin,
                        addr.key.chat,
                        addr.key.user,
                        addr.name,
                        value,
                        expires_ms
                    ])
                });
            Done::Unit(reply, r.map(drop).map_err(failed))
        }
        Op::RemoveValue(addr, reply) => {
            let r = tx
                .prepare_cached(
                    "DELETE FROM plugin_values WHERE plugin = ?1 AND chat = ?2 AND user = ?3 AND name = ?4",
                )
                .and_then(|mut s| s.execute(params![addr.plugin, addr.key.chat, addr.key.user, addr.name]));
            Done::Unit(reply, r.map(drop).map_err(failed))
        }
        Op::GetValue(addr, now_ms, reply) => {
            let r = tx
                .prepare_cached(
                    "SELECT value FROM plugin_values
                     WHERE plugin = ?1 AND chat = ?2 AND user = ?3 AND name = ?4 AND expires_ms > ?5",
                )
                .and_then(|mut s| {
                    s.query_row(params![addr.plugin, addr.key.chat, addr.key.user, addr.name, now_ms], |r| {
                        r.get(0)
                    })
                    .optional()
                });
            Done::Value(reply, r.map_err(failed))
        }
        Op::Purge(now_ms, reply) => {
            let r = tx
                .execute(
                    "DELETE FROM dialogues WHERE deadline_ms IS NOT NULL AND deadline_ms <= ?1",
                    [now_ms],
                )
                .and_then(|_| tx.execute("DELETE FROM plugin_values WHERE expires_ms <= ?1", [now_ms]));
            Done::Count(reply, r.map_err(failed))
        }
        Op::InboxKeep(update_id, body, now_ms, reply) => {
            let r = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO inbox (update_id, body, received_ms) VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut s| s.execute(params![update_id, body, now_ms]));
            Done::Flag(reply, r.map(|inserted| inserted == 1).map_err(failed))
        }
        Op::InboxHandled(update_id) => {
            let r = tx
                .prepare_cached("DELETE FROM inbox WHERE update_id = ?1")
                .and_then(|mut s| s.execute([update_id]));
            Done::Unwatched(r.map(drop).map_err(failed))
        }
        Op::InboxWaiting(reply) => {
            let r = tx.prepare_cached("SELECT update_id, body FROM inbox ORDER BY update_id").and_then(
                |mut s| {
                    s.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                },
            );
            Done::Rows(reply, r.map_err(failed))
        }
    }
}
