//! Dialogue state: per (chat, user), the step one plugin and version own, its
//! data and its deadline; and plugins' own per-user values a dialogue depends
//! on. Behind [`StateStore`]; one folder or file per backend below. Deadlines
//! are wall-clock times: an `Instant` means nothing after a restart.

pub mod fence;
pub mod memory;
pub mod redis;
pub mod sqlite;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use memory::MemoryStore;
pub use redis::RedisStore;
pub use sqlite::SqliteStore;
pub use vox_plugin::StateKey;

/// One open dialogue. Plugin, version and step are the registry's own strings.
#[derive(Debug, Clone, PartialEq)]
pub struct DialogueState {
    /// The owning plugin's id.
    pub plugin: &'static str,
    /// The version that opened it.
    pub version: Option<&'static str>,
    /// The current step.
    pub step: &'static str,
    /// The plugin's data for the step.
    pub data: serde_json::Value,
    /// When the step's time-to-live runs out (wall clock).
    pub deadline: Option<SystemTime>,
}

impl DialogueState {
    /// Whether the deadline has passed at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.deadline.is_some_and(|d| d <= now)
    }
}

/// `t` as milliseconds since the Unix epoch (0 before it).
pub(crate) fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}

pub(crate) fn from_unix_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// A store failure (for backends that can fail).
#[derive(Debug, thiserror::Error)]
#[error("state store: {0}")]
pub struct StateError(pub String);

/// `vox_state_dialogues{backend}`: what every backend reports of itself.
pub(crate) fn dialogues_gauge(out: &mut crate::metrics::Scraped, backend: &str, open: usize) {
    let labels = [("backend", backend)];
    out.series(
        "vox_state_dialogues",
        "Open dialogues in the state store",
        crate::metrics::Kind::Gauge,
        &labels,
        open as f64,
    );
}

/// Whose value: a plugin's named value for one chat member.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValueKey {
    /// The owning plugin's id.
    pub plugin: &'static str,
    /// The chat member.
    pub key: StateKey,
    /// The plugin's name for it.
    pub name: String,
}

/// Where dialogue state lives. A chat that never started a dialogue has no entry.
/// Each backend reports its own figures on `/metrics`.
#[async_trait::async_trait]
pub trait StateStore: crate::metrics::Collect + Send + Sync + 'static {
    /// The state of `key`, if any (expired state included: the caller decides).
    async fn get(&self, key: StateKey) -> Result<Option<DialogueState>, StateError>;
    /// Replaces the state of `key`.
    async fn set(&self, key: StateKey, state: DialogueState) -> Result<(), StateError>;
    /// Removes and returns the state of `key`.
    async fn remove(&self, key: StateKey) -> Result<Option<DialogueState>, StateError>;
    /// Drops every state and value expired at `now`; returns how many.
    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StateError>;
    /// The value of `key` (JSON text) if it is stored and not expired at `now`.
    async fn get_value(&self, key: &ValueKey, now: SystemTime) -> Result<Option<String>, StateError>;
    /// Replaces the value of `key` until `expires`.
    async fn set_value(&self, key: ValueKey, value: String, expires: SystemTime) -> Result<(), StateError>;
    /// Drops the value of `key`.
    async fn remove_value(&self, key: &ValueKey) -> Result<(), StateError>;
    /// How long the store has not been answering (a server-backed store);
    /// `None` while it answers.
    fn unavailable_for(&self) -> Option<Duration> {
        None
    }
}

/// The behaviour every backend must show; each backend's tests run it
/// (durable backends add what survives a reopen).
#[cfg(test)]
pub(crate) mod conformance {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use super::{DialogueState, StateKey, StateStore, ValueKey};

    /// A dialogue of the test plugin `p` at `v2`, step `ask`.
    pub fn dialogue(n: u32, deadline: Option<SystemTime>) -> DialogueState {
        DialogueState {
            plugin: "p",
            version: Some("v2"),
            step: "ask",
            data: serde_json::json!({"n": n, "title": "Отчёт «1»"}),
            deadline,
        }
    }

    /// How a backend drops what expired.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Expiry {
        /// `purge_expired` removes it (the sweeper calls it every minute).
        Sweep,
        /// The backend's own expiry removes it (Redis); `purge_expired` does nothing.
        Native,
    }

    /// Get, set, remove and expiry of dialogues and values.
    pub async fn basics(store: &dyn StateStore, expiry: Expiry) {
        let key = StateKey { chat: 1, user: 2 };
        let other = StateKey { chat: 1, user: 3 };
        assert_eq!(store.get(key).await.expect("get"), None, "no default state for a new chat");
        // Whole milliseconds: what durable backends keep of a deadline.
        let now = super::from_unix_ms(super::unix_ms(SystemTime::now()));
        let state = dialogue(1, Some(now + Duration::from_secs(60)));
        store.set(key, state.clone()).await.expect("set");
        assert_eq!(store.get(key).await.expect("get").as_ref(), Some(&state));
        assert_eq!(store.get(other).await.expect("get"), None, "members of one chat do not share state");
        let replaced = dialogue(2, None);
        store.set(key, replaced.clone()).await.expect("set");
        assert_eq!(store.get(key).await.expect("get").as_ref(), Some(&replaced), "a set replaces");
        store.set(other, dialogue(3, Some(now))).await.expect("set");
        let purged = store.purge_expired(now + Duration::from_secs(1)).await.expect("purge");
        match expiry {
            Expiry::Sweep => {
                assert_eq!(purged, 1);
                assert_eq!(store.get(other).await.expect("get"), None);
            }
            Expiry::Native => {
                assert_eq!(purged, 0, "nothing to sweep");
                let kept = store.get(other).await.expect("get").expect("kept a while past its deadline");
                assert!(kept.is_expired(now + Duration::from_secs(1)), "and told as expired");
                store.remove(other).await.expect("remove");
            }
        }
        assert_eq!(store.remove(key).await.expect("remove"), Some(replaced));
        assert_eq!(store.get(key).await.expect("get"), None);
        assert_eq!(store.remove(key).await.expect("remove"), None);

        let value = ValueKey { plugin: "p", key, name: "list".into() };
        let later = now + Duration::from_secs(60);
        assert_eq!(store.get_value(&value, now).await.expect("get"), None);
        store.set_value(value.clone(), "[1,2]".into(), later).await.expect("set");
        assert_eq!(store.get_value(&value, now).await.expect("get").as_deref(), Some("[1,2]"));
        let elsewhere = ValueKey { plugin: "q", ..value.clone() };
        assert_eq!(store.get_value(&elsewhere, now).await.expect("get"), None, "plugins do not share values");
        assert_eq!(store.get_value(&value, later).await.expect("get"), None, "expired at its time");
        if expiry == Expiry::Sweep {
            store.set_value(value.clone(), "[3]".into(), later).await.expect("set");
            assert_eq!(store.purge_expired(later).await.expect("purge"), 1);
            assert_eq!(store.get_value(&value, now).await.expect("get"), None, "purged");
        }
        store.set_value(value.clone(), "[4]".into(), later).await.expect("set");
        store.remove_value(&value).await.expect("remove");
        assert_eq!(store.get_value(&value, now).await.expect("get"), None);
    }

    /// Writers for different chats at once: each sees its own last write.
    pub async fn concurrent_writers(store: Arc<dyn StateStore>) {
        let tasks: Vec<_> = (0..32i64)
            .map(|chat| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let key = StateKey { chat, user: chat };
                    for n in 0..20 {
                        store.set(key, dialogue(n, None)).await.expect("set");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("writer");
        }
        for chat in 0..32i64 {
            let got = store.get(StateKey { chat, user: chat }).await.expect("get");
            assert_eq!(got, Some(dialogue(19, None)), "chat {chat}");
        }
    }
}
