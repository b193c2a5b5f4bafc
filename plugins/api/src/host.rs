//! Host plumbing: what the host implements and reads, which a plugin author
//! never needs — the services behind a [`crate::Ctx`] ([`HostApi`], implemented
//! by `vox-host` and by [`crate::testing::RecordingHost`]), the parts a host
//! builds a `Ctx` from, what [`crate::register!`] submits, the lock guard.

use std::time::{Duration, Instant, SystemTime};

use crate::{HostError, Keyboard, MessageKind, Outgoing};

pub use crate::context::CtxParts;
pub use crate::plugin::{BuildFn, ReconfigureFn, Registration, ValidateFn, registrations};

/// Whose dialogue: members of a group share a chat, so state is per (chat, user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateKey {
    /// The chat id.
    pub chat: i64,
    /// The user id.
    pub user: i64,
}

/// Holds a lock until dropped: a user's ([`crate::Ctx::lock_user`]) or one a
/// plugin names ([`crate::Ctx::lock_shared`]).
#[must_use = "the lock is released when this guard is dropped"]
pub struct Lock {
    _held: Box<dyn Send + Sync>,
    fence: u64,
}

impl std::fmt::Debug for Lock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lock").field("fence", &self.fence).finish_non_exhaustive()
    }
}

impl Lock {
    /// Wraps a held process-local guard (fencing token 0); called by hosts.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mutex = std::sync::Arc::new(tokio::sync::Mutex::new(()));
    /// let lock = vox_plugin::host::Lock::new(mutex.lock_owned().await);
    /// assert_eq!(lock.fence(), 0);
    /// # }
    /// ```
    pub fn new(guard: tokio::sync::OwnedMutexGuard<()>) -> Self {
        Self::held(guard, 0)
    }

    /// Wraps whatever holds the lock (released when it is dropped) and the
    /// lock's fencing token; called by hosts whose lock is shared by several
    /// processes.
    pub fn held(held: impl Send + Sync + 'static, fence: u64) -> Self {
        Self { _held: Box::new(held), fence }
    }

    /// The fencing token this lock was taken with: it grows each time the
    /// lock is taken, so a store can refuse the write of a holder whose lock
    /// ran out while it was paused and was taken by someone else (its token is
    /// the smaller). 0 for a lock only this process knows.
    pub fn fence(&self) -> u64 {
        self.fence
    }
}

/// The host side of a [`crate::Ctx`]. Implemented by `vox-host`; a plugin never
/// implements it outside tests.
#[async_trait::async_trait]
pub trait HostApi: Send + Sync {
    /// Sends a message, applies the message tracker's rules for `kind`, returns the message id.
    async fn send(&self, chat: i64, kind: MessageKind, message: Outgoing) -> Result<i32, HostError>;
    /// Replaces a message's text and keyboard.
    async fn edit_text(
        &self,
        chat: i64,
        message_id: i32,
        text: String,
        keyboard: Option<Keyboard>,
    ) -> Result<(), HostError>;
    /// Deletes messages; ones already gone are not an error.
    async fn delete(&self, chat: i64, message_ids: &[i32]) -> Result<(), HostError>;
    /// Answers a callback query (once; the host answers any query left unanswered).
    async fn answer_callback(&self, query_id: &str, text: Option<&str>, alert: bool)
    -> Result<(), HostError>;
    /// Stores the dialogue state of `key` for `plugin` at `version`.
    async fn set_step(
        &self,
        key: StateKey,
        plugin: &'static str,
        version: Option<&'static str>,
        step: &str,
        data: serde_json::Value,
    ) -> Result<(), HostError>;
    /// Drops the dialogue state of `key`.
    async fn clear_step(&self, key: StateKey) -> Result<(), HostError>;
    /// Takes the user's lock, waiting at most `wait`; `None` when still held by then.
    async fn lock_user(&self, user: i64, wait: Duration) -> Option<Lock>;
    /// Takes `plugin`'s lock `name`, shared by every process serving the bot
    /// when the host can share one (with a fencing token), else this
    /// process's (token 0); `None` when still held after `wait`.
    async fn lock_named(&self, plugin: &'static str, name: &str, wait: Duration) -> Option<Lock>;
    /// Now, on the host's clock.
    fn now(&self) -> Instant;
    /// Wall-clock now, on the host's clock (what survives a restart).
    fn wall_time(&self) -> SystemTime {
        SystemTime::now()
    }
    /// The value `plugin` stored under `name` for `key`, as JSON text, if it
    /// has not expired.
    async fn load_value(
        &self,
        plugin: &'static str,
        key: StateKey,
        name: &str,
    ) -> Result<Option<String>, HostError>;
    /// Stores `value` (JSON text) under `name` for `key` until `ttl` has passed,
    /// where dialogue state is kept (so it survives a restart when that does).
    async fn store_value(
        &self,
        plugin: &'static str,
        key: StateKey,
        name: &str,
        value: String,
        ttl: Duration,
    ) -> Result<(), HostError>;
    /// Drops the value `plugin` stored under `name` for `key`.
    async fn clear_value(&self, plugin: &'static str, key: StateKey, name: &str) -> Result<(), HostError>;
    /// A failure the host cannot see by itself (a list not delivered, a delete
    /// whose file survived): counted against `version`, and a trigger for
    /// automatic rollback when that version is a canary's candidate.
    fn report_failure(&self, plugin: &'static str, version: Option<&'static str>, what: &'static str) {
        let _ = (plugin, version, what);
    }
    /// Every linked plugin's main-menu entry, in registry order.
    fn menu_entries(&self) -> Vec<crate::MenuEntry> {
        Vec::new()
    }
}
