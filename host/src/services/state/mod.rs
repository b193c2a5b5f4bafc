//! Dialogue state: per (chat, user), the step one plugin and version own, its
//! data and its deadline. Behind [`StateStore`]; one file per backend below.

pub mod memory;

use std::time::Instant;

pub use memory::MemoryStore;
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
    /// When the step's time-to-live runs out.
    pub deadline: Option<Instant>,
}

impl DialogueState {
    /// Whether the deadline has passed at `now`.
    pub fn is_expired(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|d| d <= now)
    }
}

/// A store failure (for backends that can fail).
#[derive(Debug, thiserror::Error)]
#[error("state store: {0}")]
pub struct StateError(pub String);

/// Where dialogue state lives. A chat that never started a dialogue has no entry.
#[async_trait::async_trait]
pub trait StateStore: Send + Sync + 'static {
    /// The state of `key`, if any (expired state included: the caller decides).
    async fn get(&self, key: StateKey) -> Result<Option<DialogueState>, StateError>;
    /// Replaces the state of `key`.
    async fn set(&self, key: StateKey, state: DialogueState) -> Result<(), StateError>;
    /// Removes and returns the state of `key`.
    async fn remove(&self, key: StateKey) -> Result<Option<DialogueState>, StateError>;
    /// Drops every state expired at `now`; returns how many.
    async fn purge_expired(&self, now: Instant) -> Result<usize, StateError>;
}

/// The behaviour every backend must show; each backend's tests run it.
#[cfg(test)]
pub(crate) async fn conformance(store: &dyn StateStore) {
    use std::time::Duration;
    let key = StateKey { chat: 1, user: 2 };
    let other = StateKey { chat: 1, user: 3 };
    assert_eq!(store.get(key).await.expect("get"), None, "no default state for a new chat");
    let now = Instant::now();
    let state = DialogueState {
        plugin: "p",
        version: Some("v2"),
        step: "ask",
        data: serde_json::json!({"n": 1}),
        deadline: Some(now + Duration::from_secs(60)),
    };
    store.set(key, state.clone()).await.expect("set");
    assert_eq!(store.get(key).await.expect("get").as_ref(), Some(&state));
    assert_eq!(store.get(other).await.expect("get"), None, "members of one chat do not share state");
    let expired = DialogueState { deadline: Some(now), ..state.clone() };
    store.set(other, expired).await.expect("set");
    assert_eq!(store.purge_expired(now + Duration::from_secs(1)).await.expect("purge"), 1);
    assert_eq!(store.get(other).await.expect("get"), None);
    assert_eq!(store.remove(key).await.expect("remove"), Some(state));
    assert_eq!(store.get(key).await.expect("get"), None);
    assert_eq!(store.remove(key).await.expect("remove"), None);
}
