//! # What plugins may call
//!
//! [`Services`]: the host's implementation of the SDK's [`HostApi`] — Telegram
//! calls with message-tracker cleanup, dialogue state, user locks, the clock.
//!
//! - [`telegram`]: Bot API calls with bounded 429 retries and Telegram's limits.
//! - [`throttle`]: Telegram's flood limits kept on our side (per bot, per chat).
//! - [`tracker`]: the message tracker (menus, prompts, confirmations, statuses), sharded and bounded.
//! - [`locks`]: per-user async locks.
//! - [`reach`]: whether Telegram answers (long polls, the `getMe` probe, updates).
//! - [`state`]: dialogue state behind [`state::StateStore`]; one file per backend.

pub mod ids;
pub mod locks;
pub mod reach;
pub mod state;
pub mod telegram;
pub mod throttle;
pub mod tracker;
pub mod update_scope;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use vox_plugin::host::{HostApi, Lock};
use vox_plugin::{Clock, HostError, Keyboard, MessageKind, Outgoing, StateKey};

use tokio::sync::mpsc;

use crate::metrics::Metrics;
use crate::registry::{PluginIdx, Registry};
use crate::rollout::canary::{Canary, Event};
use crate::services::locks::Locks;
use crate::services::state::{DialogueState, StateStore, ValueKey};
use crate::services::tracker::Tracker;
use reach::Reachability;
use telegram::Telegram;

/// What every handler's [`vox_plugin::Ctx`] talks to.
pub struct Services {
    /// The Bot API client (it counts its calls into `metrics`).
    pub telegram: Telegram,
    /// Everything `/metrics` shows that the update path counts.
    pub metrics: Arc<Metrics>,
    /// The validated registry (step declarations).
    pub registry: Arc<Registry>,
    /// Dialogue state.
    pub state: Arc<dyn StateStore>,
    /// Tracked messages per chat.
    pub tracker: Tracker,
    /// Users' locks and the ones plugins name.
    pub locks: Locks,
    /// The host's clock.
    pub clock: Clock,
    /// Each canary version's recent failures.
    pub canary: Arc<Canary>,
    /// Whether Telegram answers (polls, probes and updates report here).
    pub reach: Arc<Reachability>,
    /// Plugins to check for automatic rollback. Bounded: when it is full, checks
    /// are already queued and the watcher's periodic pass sees every plugin anyway.
    pub failures: mpsc::Sender<PluginIdx>,
    /// Start of the health windows' clock.
    pub epoch: Instant,
}

impl Services {
    /// Deletes the tracked messages a new one replaced. The new message is
    /// out; a failed cleanup only leaves old menus visible.
    async fn delete_stale(&self, chat: i64, stale: Vec<i32>) {
        if let Err(e) = telegram::delete(&self.telegram, chat, &stale).await {
            tracing::warn!(chat, error = %e, "could not delete stale tracked messages");
        }
    }
}

#[async_trait::async_trait]
impl HostApi for Services {
    async fn send(&self, chat: i64, kind: MessageKind, message: Outgoing) -> Result<i32, HostError> {
        let id = telegram::send(&self.telegram, chat, message).await?;
        let stale = self.tracker.sent(chat, id, kind);
        if !stale.is_empty() {
            // Boxed: a cleanup is a call of its own, and inline its future
            // would size (and its code spread) every send's.
            Box::pin(self.delete_stale(chat, stale)).await;
        }
        Ok(id)
    }

    async fn edit_text(
        &self,
        chat: i64,
        message_id: i32,
        text: String,
        keyboard: Option<Keyboard>,
    ) -> Result<(), HostError> {
        telegram::edit_text(&self.telegram, chat, message_id, text, keyboard).await
    }

    async fn delete(&self, chat: i64, message_ids: &[i32]) -> Result<(), HostError> {
        self.tracker.forget(chat, message_ids);
        telegram::delete(&self.telegram, chat, message_ids).await
    }

    async fn answer_callback(
        &self,
        query_id: &str,
        text: Option<&str>,
        alert: bool,
    ) -> Result<(), HostError> {
        telegram::answer(&self.telegram, query_id, text, alert).await
    }

    async fn set_step(
        &self,
        key: StateKey,
        plugin: &'static str,
        version: Option<&'static str>,
        step: &str,
        data: serde_json::Value,
    ) -> Result<(), HostError> {
        let route = self
            .registry
            .step(step)
            .filter(|r| self.registry.manifest(r.plugin).id == plugin)
            .filter(|r| r.version.is_none() || r.version == version)
            .ok_or_else(|| HostError::UnknownStep(step.to_owned()))?;
        let deadline = route.ttl.map(|ttl| self.clock.wall() + ttl);
        let state = DialogueState { plugin, version, step: route.name, data, deadline };
        self.state.set(key, state).await.map_err(|e| HostError::State(e.to_string()))
    }

    async fn clear_step(&self, key: StateKey) -> Result<(), HostError> {
        self.state.remove(key).await.map(|_| ()).map_err(|e| HostError::State(e.to_string()))
    }

    async fn lock_user(&self, user: i64, wait: Duration) -> Option<Lock> {
        self.locks.lock(user, wait).await
    }

    async fn lock_named(&self, plugin: &'static str, name: &str, wait: Duration) -> Option<Lock> {
        self.locks.lock_named(plugin, name, wait).await
    }

    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn wall_time(&self) -> SystemTime {
        self.clock.wall()
    }

    async fn load_value(
        &self,
        plugin: &'static str,
        key: StateKey,
        name: &str,
    ) -> Result<Option<String>, HostError> {
        let key = ValueKey { plugin, key, name: name.to_owned() };
        self.state.get_value(&key, self.clock.wall()).await.map_err(|e| HostError::State(e.to_string()))
    }

    async fn store_value(
        &self,
        plugin: &'static str,
        key: StateKey,
        name: &str,
        value: String,
        ttl: Duration,
    ) -> Result<(), HostError> {
        let key = ValueKey { plugin, key, name: name.to_owned() };
        let expires = self.clock.wall() + ttl;
        self.state.set_value(key, value, expires).await.map_err(|e| HostError::State(e.to_string()))
    }

    async fn clear_value(&self, plugin: &'static str, key: StateKey, name: &str) -> Result<(), HostError> {
        let key = ValueKey { plugin, key, name: name.to_owned() };
        self.state.remove_value(&key).await.map_err(|e| HostError::State(e.to_string()))
    }

    fn menu_entries(&self) -> Vec<vox_plugin::MenuEntry> {
        self.registry.menu_entries()
    }

    fn report_failure(&self, plugin: &'static str, version: Option<&'static str>, what: &'static str) {
        self.metrics.reported_failure(plugin, version.unwrap_or("none"), what);
        let (Some(idx), Some(version)) = (self.registry.index_of(plugin), version) else { return };
        let now = self.clock.now().saturating_duration_since(self.epoch).as_secs();
        self.canary.record(idx, version, Event::Critical, now);
        tracing::warn!(plugin, version, failure = what, "critical failure reported");
        let _ = self.failures.try_send(idx);
    }
}
