//! A [`HostApi`] that records instead of talking to Telegram, for a plugin's
//! unit tests: drive a handler with a built [`crate::Ctx`] and read back what it
//! sent, which step it set and how it answered. Like the real host it refuses
//! steps the manifest does not declare, deletes the messages a new one makes
//! stale (the message tracker) and answers a callback the handler left
//! unanswered ([`RecordingHost::serve`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::host::{CtxParts, HostApi, Lock};
use crate::{
    Clock, Ctx, HandlerError, HostError, Input, Keyboard, Manifest, MenuEntry, MessageKind, Outgoing, Plugin,
    StateKey, StepState, User,
};

/// One recorded host call.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // Field names say it all: chat, message id, kind, text...
pub enum Recorded {
    /// A message sent to a chat, with its tracker kind and assigned id.
    Sent { chat: i64, id: i32, kind: MessageKind, message: Outgoing },
    /// An edit.
    Edited { chat: i64, id: i32, text: String, keyboard: Option<Keyboard> },
    /// Deleted ids.
    Deleted { chat: i64, ids: Vec<i32> },
    /// A callback answer.
    Answered { query_id: String, text: Option<String>, alert: bool },
    /// A failure the plugin reported ([`crate::Ctx::report_failure`]).
    FailureReported { plugin: &'static str, version: Option<&'static str>, what: &'static str },
}

#[derive(Default)]
struct Inner {
    log: Vec<Recorded>,
    steps: HashMap<StateKey, StepState>,
    /// Tracked (non-`Info`) messages per chat, as the host's tracker keeps them.
    tracked: HashMap<i64, Vec<(i32, MessageKind)>>,
    next_id: i32,
    /// Plugins' stored values with their expiry, by (plugin, key, name).
    values: HashMap<(&'static str, StateKey, String), (String, SystemTime)>,
}

/// Whose lock: a user's, or one a plugin named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LockKey {
    User(i64),
    Named(&'static str, String),
}

/// Records every call; keeps dialogue steps in memory; locks and clock are
/// real (named locks hand out growing fencing tokens, as a host on Redis does).
///
/// ```
/// use vox_plugin::testing::RecordingHost;
/// use vox_plugin::{Input, MessageKind};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let host = RecordingHost::new();
/// let mut ctx = host.ctx("demo", None, 1, Input::text("hi"));
/// ctx.send_text(MessageKind::Info, "hello", None).await.unwrap();
/// assert_eq!(host.texts(1), ["hello"]);
/// # }
/// ```
#[derive(Clone, Default)]
pub struct RecordingHost {
    inner: Arc<Mutex<Inner>>,
    locks: Arc<Mutex<HashMap<LockKey, Arc<tokio::sync::Mutex<()>>>>>,
    /// The last fencing token a named lock was taken with.
    fences: Arc<std::sync::atomic::AtomicU64>,
    clock: Clock,
    manifest: Option<&'static Manifest>,
    menu: Vec<MenuEntry>,
}

impl RecordingHost {
    /// An empty recording host that accepts any step name.
    pub fn new() -> Self {
        Self::default()
    }

    /// A recording host for the plugin of `manifest`: like the real host,
    /// [`crate::Ctx::set_step`] of a step the plugin (at the context's version)
    /// does not declare fails with [`HostError::UnknownStep`].
    ///
    /// ```
    /// use vox_plugin::testing::RecordingHost;
    /// use vox_plugin::{HostError, Input, Manifest, Step};
    ///
    /// const M: Manifest = Manifest { steps: &[Step::new("ask_city")], ..Manifest::new("weather", "Погода") };
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let host = RecordingHost::for_manifest(&M);
    /// let mut ctx = host.ctx("weather", None, 1, Input::command("weather", ""));
    /// assert!(ctx.set_step("ask_city", &()).await.is_ok());
    /// assert!(matches!(ctx.set_step("ask_town", &()).await, Err(HostError::UnknownStep(_))));
    /// # }
    /// ```
    pub fn for_manifest(manifest: &'static Manifest) -> Self {
        Self { manifest: Some(manifest), ..Self::default() }
    }

    /// The main-menu entries [`crate::Ctx::menu_entries`] returns (a home plugin's test).
    pub fn with_menu_entries(mut self, entries: Vec<MenuEntry>) -> Self {
        self.menu = entries;
        self
    }

    /// Runs `plugin` on `ctx` as the host does: the handler, then an answer to
    /// a callback it left unanswered.
    ///
    /// ```
    /// use vox_plugin::testing::{RecordingHost, Recorded};
    /// use vox_plugin::{Ctx, HandlerError, Input, Plugin};
    ///
    /// struct Silent;
    /// #[vox_plugin::async_trait]
    /// impl Plugin for Silent {
    ///     async fn handle(&self, _: &mut Ctx) -> Result<(), HandlerError> { Ok(()) }
    /// }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let host = RecordingHost::new();
    /// host.serve(&Silent, host.ctx("silent", None, 1, Input::callback("x"))).await.unwrap();
    /// assert!(matches!(host.log()[..], [Recorded::Answered { .. }]), "the spinner stops");
    /// # }
    /// ```
    pub async fn serve(&self, plugin: &dyn Plugin, mut ctx: Ctx) -> Result<(), HandlerError> {
        let result = plugin.handle(&mut ctx).await;
        ctx.answer(None).await?;
        result
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The clock handed to contexts; advance it to expire things.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// A context for `user` (private chat: chat id = user id) with the stored step, if any.
    pub fn ctx(&self, plugin: &'static str, version: Option<&'static str>, user: i64, input: Input) -> Ctx {
        let step = self.inner().steps.get(&StateKey { chat: user, user }).cloned();
        Ctx::new(CtxParts {
            host: Arc::new(self.clone()),
            plugin,
            version,
            chat: user,
            user: User {
                id: user,
                name: format!("User {user}"),
                username: None,
                language_code: Some("ru".into()),
            },
            input,
            step,
        })
    }

    /// Everything recorded so far.
    pub fn log(&self) -> Vec<Recorded> {
        self.inner().log.clone()
    }

    /// Texts (and captions) sent to `chat`, in order.
    pub fn texts(&self, chat: i64) -> Vec<String> {
        self.inner()
            .log
            .iter()
            .filter_map(|r| match r {
                Recorded::Sent { chat: c, message: Outgoing::Text { text, .. }, .. } if *c == chat => {
                    Some(text.clone())
                }
                Recorded::Sent {
                    chat: c,
                    message: Outgoing::Document { caption, .. } | Outgoing::Photo { caption, .. },
                    ..
                } if *c == chat => caption.clone(),
                _ => None,
            })
            .collect()
    }

    /// The step stored for a private chat with `user`.
    pub fn step(&self, user: i64) -> Option<StepState> {
        self.inner().steps.get(&StateKey { chat: user, user }).cloned()
    }

    /// Forgets the recorded calls (steps stay).
    pub fn clear_log(&self) {
        self.inner().log.clear();
    }

    fn record(&self, r: Recorded) {
        self.inner().log.push(r);
    }

    async fn take(&self, key: LockKey, wait: Duration) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        let mutex = Arc::clone(self.locks.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_default());
        tokio::time::timeout(wait, mutex.lock_owned()).await.ok()
    }
}

#[async_trait::async_trait]
impl HostApi for RecordingHost {
    async fn send(&self, chat: i64, kind: MessageKind, message: Outgoing) -> Result<i32, HostError> {
        let mut inner = self.inner();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.log.push(Recorded::Sent { chat, id, kind, message });
        // The tracker: the new message makes earlier ones stale, which the host deletes.
        let tracked = inner.tracked.entry(chat).or_default();
        let stale: Vec<i32> = tracked.iter().filter(|(_, k)| kind.replaces(*k)).map(|(id, _)| *id).collect();
        tracked.retain(|(_, k)| !kind.replaces(*k));
        if kind != MessageKind::Info {
            tracked.push((id, kind));
        }
        if !stale.is_empty() {
            inner.log.push(Recorded::Deleted { chat, ids: stale });
        }
        Ok(id)
    }

    async fn edit_text(
        &self,
        chat: i64,
        id: i32,
        text: String,
        keyboard: Option<Keyboard>,
    ) -> Result<(), HostError> {
        self.record(Recorded::Edited { chat, id, text, keyboard });
        Ok(())
    }

    async fn delete(&self, chat: i64, ids: &[i32]) -> Result<(), HostError> {
        self.record(Recorded::Deleted { chat, ids: ids.to_vec() });
        Ok(())
    }

    async fn answer_callback(
        &self,
        query_id: &str,
        text: Option<&str>,
        alert: bool,
    ) -> Result<(), HostError> {
        self.record(Recorded::Answered {
            query_id: query_id.to_owned(),
            text: text.map(str::to_owned),
            alert,
        });
        Ok(())
    }

    async fn set_step(
        &self,
        key: StateKey,
        _plugin: &'static str,
        version: Option<&'static str>,
        step: &str,
        data: serde_json::Value,
    ) -> Result<(), HostError> {
        let name: &'static str = match self.manifest {
            // As the host: a step of the plugin's, top-level or under this version.
            Some(m) => m
                .all_steps()
                .find(|(v, s)| s.name == step && (v.is_none() || *v == version))
                .map(|(_, s)| s.name)
                .ok_or_else(|| HostError::UnknownStep(step.to_owned()))?,
            // Without a manifest any name goes; leaking keeps StepState's `&'static str`.
            None => Box::leak(step.to_owned().into_boxed_str()),
        };
        self.inner().steps.insert(key, StepState { name, version, data });
        Ok(())
    }

    async fn clear_step(&self, key: StateKey) -> Result<(), HostError> {
        self.inner().steps.remove(&key);
        Ok(())
    }

    async fn lock_user(&self, user: i64, wait: Duration) -> Option<Lock> {
        self.take(LockKey::User(user), wait).await.map(Lock::new)
    }

    /// Like a host on Redis: every taking of a named lock has a higher fencing token.
    async fn lock_named(&self, plugin: &'static str, name: &str, wait: Duration) -> Option<Lock> {
        let guard = self.take(LockKey::Named(plugin, name.to_owned()), wait).await?;
        let token = self.fences.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        Some(Lock::held(guard, token))
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
        let now = self.clock.wall();
        let inner = self.inner();
        let value = inner.values.get(&(plugin, key, name.to_owned()));
        Ok(value.filter(|(_, expires)| *expires > now).map(|(v, _)| v.clone()))
    }

    async fn store_value(
        &self,
        plugin: &'static str,
        key: StateKey,
        name: &str,
        value: String,
        ttl: Duration,
    ) -> Result<(), HostError> {
        let expires = self.clock.wall() + ttl;
        self.inner().values.insert((plugin, key, name.to_owned()), (value, expires));
        Ok(())
    }

    async fn clear_value(&self, plugin: &'static str, key: StateKey, name: &str) -> Result<(), HostError> {
        self.inner().values.remove(&(plugin, key, name.to_owned()));
        Ok(())
    }

    fn report_failure(&self, plugin: &'static str, version: Option<&'static str>, what: &'static str) {
        self.record(Recorded::FailureReported { plugin, version, what });
    }

    fn menu_entries(&self) -> Vec<MenuEntry> {
        self.menu.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_menu_deletes_the_chats_earlier_tracked_messages_but_not_info() {
        let host = RecordingHost::new();
        let ctx = host.ctx("demo", None, 1, Input::text("hi"));
        ctx.send_text(MessageKind::Menu, "menu", None).await.expect("sent");
        ctx.send_text(MessageKind::Info, "info", None).await.expect("sent");
        ctx.send_text(MessageKind::Status, "status", None).await.expect("sent");
        ctx.send_text(MessageKind::Menu, "menu again", None).await.expect("sent");
        assert_eq!(host.log().last(), Some(&Recorded::Deleted { chat: 1, ids: vec![1, 3] }));
    }
}
