//! A [`HostApi`] that records instead of talking to Telegram, for a plugin's
//! unit tests: drive a handler with a built [`crate::Ctx`] and read back what it
//! sent, which step it set and how it answered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{
    Clock, Ctx, CtxParts, HostApi, HostError, Input, Keyboard, MessageKind, Outgoing, StateKey, StepState,
    User, UserLock,
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
}

#[derive(Default)]
struct Inner {
    log: Vec<Recorded>,
    steps: HashMap<StateKey, StepState>,
    next_id: i32,
}

/// Records every call; keeps dialogue steps in memory; locks and clock are real.
///
/// ```
/// use vox_plugin::testing::RecordingHost;
/// use vox_plugin::{Input, MessageKind};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let host = RecordingHost::new();
/// let mut ctx = host.ctx("demo", None, 1, Input::Text("hi".into()));
/// ctx.send_text(MessageKind::Info, "hello", None).await.unwrap();
/// assert_eq!(host.texts(1), ["hello"]);
/// # }
/// ```
#[derive(Clone, Default)]
pub struct RecordingHost {
    inner: Arc<Mutex<Inner>>,
    locks: Arc<Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>>,
    clock: Clock,
}

impl RecordingHost {
    /// An empty recording host.
    pub fn new() -> Self {
        Self::default()
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
            user: User { id: user, name: format!("User {user}"), username: None },
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
                Recorded::Sent { chat: c, message: Outgoing::Document { caption, .. }, .. } if *c == chat => {
                    caption.clone()
                }
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
}

#[async_trait::async_trait]
impl HostApi for RecordingHost {
    async fn send(&self, chat: i64, kind: MessageKind, message: Outgoing) -> Result<i32, HostError> {
        let mut inner = self.inner();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.log.push(Recorded::Sent { chat, id, kind, message });
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
        // Tests set declared steps; leaking the name keeps StepState's `&'static str`.
        let name: &'static str = Box::leak(step.to_owned().into_boxed_str());
        self.inner().steps.insert(key, StepState { name, version, data });
        Ok(())
    }

    async fn clear_step(&self, key: StateKey) -> Result<(), HostError> {
        self.inner().steps.remove(&key);
        Ok(())
    }

    async fn lock_user(&self, user: i64, wait: Duration) -> Option<UserLock> {
        let mutex = Arc::clone(self.locks.lock().unwrap_or_else(|p| p.into_inner()).entry(user).or_default());
        tokio::time::timeout(wait, mutex.lock_owned()).await.ok().map(UserLock::new)
    }

    fn now(&self) -> Instant {
        self.clock.now()
    }
}
