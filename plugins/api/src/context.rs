//! [`Ctx`]: one update as a handler sees it — who, what, the dialogue state —
//! and the helpers to reply, move the dialogue and take the user's lock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::host::{HostApi, Lock};
use crate::{Document, HostError, Keyboard, MessageKind, Outgoing, StateKey};

/// The user behind an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Telegram user id.
    pub id: i64,
    /// First name (and last name, when set), for greetings.
    pub name: String,
    /// `@username` without the `@`, when set.
    pub username: Option<String>,
    /// The IETF language tag of the user's Telegram app (`ru`, `en`, …), when
    /// Telegram sends it.
    pub language_code: Option<String>,
}

/// What the user did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Plain text (a step's answer, usually).
    Text(String),
    /// `/name args`, with any `@botname` suffix removed.
    Command {
        /// Without the `/`.
        name: String,
        /// The rest of the line, trimmed.
        args: String,
    },
    /// A pressed inline button.
    Callback {
        /// The query id (the host answers it if the handler does not).
        query_id: String,
        /// The button's callback data.
        data: String,
        /// The message the button was on, when Telegram still knows it.
        message_id: Option<i32>,
    },
    /// A message that is neither text nor a command (a photo, a sticker, a voice
    /// note, ...): a dialogue step usually answers it with a hint to type.
    Unsupported,
}

impl Input {
    /// Plain text, as a user types it.
    ///
    /// ```
    /// assert_eq!(vox_plugin::Input::text("3"), vox_plugin::Input::Text("3".into()));
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        Input::Text(text.into())
    }

    /// `/name args`.
    ///
    /// ```
    /// let i = vox_plugin::Input::command("reports", "");
    /// assert!(matches!(i, vox_plugin::Input::Command { name, .. } if name == "reports"));
    /// ```
    pub fn command(name: impl Into<String>, args: impl Into<String>) -> Self {
        Input::Command { name: name.into(), args: args.into() }
    }

    /// A pressed button with this callback data (a fresh query id each time).
    ///
    /// ```
    /// let i = vox_plugin::Input::callback("show_my_reports");
    /// assert!(matches!(i, vox_plugin::Input::Callback { data, .. } if data == "show_my_reports"));
    /// ```
    pub fn callback(data: impl Into<String>) -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Input::Callback { query_id: format!("q{n}"), data: data.into(), message_id: None }
    }
}

/// A dialogue's current step as stored by the host.
#[derive(Debug, Clone, PartialEq)]
pub struct StepState {
    /// The declared step name.
    pub name: &'static str,
    /// The version that opened the dialogue.
    pub version: Option<&'static str>,
    /// The plugin's data for the step.
    pub data: serde_json::Value,
}

/// Everything a host needs to build a [`Ctx`].
pub struct CtxParts {
    /// The services behind the context.
    pub host: Arc<dyn HostApi>,
    /// The plugin the update is routed to.
    pub plugin: &'static str,
    /// The version the host decided.
    pub version: Option<&'static str>,
    /// The chat.
    pub chat: i64,
    /// The user.
    pub user: User,
    /// What the user did.
    pub input: Input,
    /// The plugin's dialogue state, if any.
    pub step: Option<StepState>,
}

/// One update, routed to one plugin at one version.
///
/// ```
/// use vox_plugin::{Button, Ctx, HandlerError, Keyboard, MessageKind};
///
/// async fn ask_number(ctx: &mut Ctx) -> Result<(), HandlerError> {
///     let kb = Keyboard::new().row([Button::callback("❌ Отмена", "report_cancel")]);
///     ctx.send_text(MessageKind::InputRequest, "Введите номер отчета:", Some(kb)).await?;
///     ctx.set_step("report_view_ask_number", &serde_json::json!({ "tries": 0 })).await?;
///     ctx.answer(None).await?;
///     Ok(())
/// }
/// ```
pub struct Ctx {
    host: Arc<dyn HostApi>,
    plugin: &'static str,
    version: Option<&'static str>,
    key: StateKey,
    user: User,
    input: Input,
    step: Option<StepState>,
    answered: bool,
}

impl Ctx {
    /// Builds a context (hosts and test doubles do this).
    pub fn new(parts: CtxParts) -> Self {
        let CtxParts { host, plugin, version, chat, user, input, step } = parts;
        let key = StateKey { chat, user: user.id };
        Self { host, plugin, version, key, user, input, step, answered: false }
    }

    /// The chat id.
    pub fn chat_id(&self) -> i64 {
        self.key.chat
    }

    /// The user.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// What the user did.
    pub fn input(&self) -> &Input {
        &self.input
    }

    /// The text, when the update is plain text.
    pub fn text(&self) -> Option<&str> {
        match &self.input {
            Input::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The callback data, when a button was pressed.
    pub fn callback_data(&self) -> Option<&str> {
        match &self.input {
            Input::Callback { data, .. } => Some(data),
            _ => None,
        }
    }

    /// The message the pressed button was on.
    pub fn callback_message_id(&self) -> Option<i32> {
        match &self.input {
            Input::Callback { message_id, .. } => *message_id,
            _ => None,
        }
    }

    /// `(name, args)` of a command.
    pub fn command(&self) -> Option<(&str, &str)> {
        match &self.input {
            Input::Command { name, args } => Some((name, args)),
            _ => None,
        }
    }

    /// This plugin's id.
    pub fn plugin_id(&self) -> &'static str {
        self.plugin
    }

    /// The handler version the host decided for this update (`None` for
    /// unversioned plugins).
    pub fn version(&self) -> Option<&'static str> {
        self.version
    }

    /// The dialogue's current step, if this plugin owns one for this chat and user.
    pub fn step(&self) -> Option<&StepState> {
        self.step.as_ref()
    }

    /// The current step's name.
    pub fn step_name(&self) -> Option<&'static str> {
        self.step.as_ref().map(|s| s.name)
    }

    /// The current step's data, deserialized.
    pub fn step_data<T: DeserializeOwned>(&self) -> Result<Option<T>, HostError> {
        match &self.step {
            Some(s) => Ok(Some(T::deserialize(&s.data)?)),
            None => Ok(None),
        }
    }

    /// Moves the dialogue to a declared step with its data; its time-to-live starts now.
    pub async fn set_step<T: Serialize + ?Sized>(
        &mut self,
        step: &'static str,
        data: &T,
    ) -> Result<(), HostError> {
        let data = serde_json::to_value(data)?;
        self.host.set_step(self.key, self.plugin, self.version, step, data.clone()).await?;
        self.step = Some(StepState { name: step, version: self.version, data });
        Ok(())
    }

    /// Ends the dialogue.
    pub async fn clear_step(&mut self) -> Result<(), HostError> {
        self.host.clear_step(self.key).await?;
        self.step = None;
        Ok(())
    }

    /// Sends a text with an optional inline keyboard; returns its message id.
    pub async fn send_text(
        &self,
        kind: MessageKind,
        text: impl Into<String>,
        keyboard: Option<Keyboard>,
    ) -> Result<i32, HostError> {
        let message = Outgoing::Text { text: text.into(), keyboard };
        self.host.send(self.key.chat, kind, message).await
    }

    /// Sends a document with an optional caption and keyboard; returns its message id.
    pub async fn send_document(
        &self,
        kind: MessageKind,
        document: Document,
        caption: Option<String>,
        keyboard: Option<Keyboard>,
    ) -> Result<i32, HostError> {
        let message = Outgoing::Document { document, caption, keyboard };
        self.host.send(self.key.chat, kind, message).await
    }

    /// Sends a picture (PNG or JPEG, up to 10 MB) shown in the chat, with an
    /// optional caption and keyboard; returns its message id.
    ///
    /// ```
    /// # async fn demo(ctx: &vox_plugin::Ctx, png: Vec<u8>) -> Result<(), vox_plugin::HostError> {
    /// use vox_plugin::{Document, MessageKind};
    /// ctx.send_photo(MessageKind::Info, Document::bytes("chart.png", png), Some("📊".into()), None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_photo(
        &self,
        kind: MessageKind,
        photo: Document,
        caption: Option<String>,
        keyboard: Option<Keyboard>,
    ) -> Result<i32, HostError> {
        let message = Outgoing::Photo { photo, caption, keyboard };
        self.host.send(self.key.chat, kind, message).await
    }

    /// Replaces the text and keyboard of one of the bot's messages in this chat.
    pub async fn edit_text(
        &self,
        message_id: i32,
        text: impl Into<String>,
        keyboard: Option<Keyboard>,
    ) -> Result<(), HostError> {
        self.host.edit_text(self.key.chat, message_id, text.into(), keyboard).await
    }

    /// Deletes messages in this chat; already deleted ones are fine.
    pub async fn delete(&self, message_ids: &[i32]) -> Result<(), HostError> {
        self.host.delete(self.key.chat, message_ids).await
    }

    /// Answers the pressed button (a toast with `text`, or just stops the spinner).
    /// Does nothing for other updates or when already answered.
    pub async fn answer(&mut self, text: Option<&str>) -> Result<(), HostError> {
        self.answer_inner(text, false).await
    }

    /// Answers the pressed button with an alert the user must dismiss.
    pub async fn answer_alert(&mut self, text: &str) -> Result<(), HostError> {
        self.answer_inner(Some(text), true).await
    }

    async fn answer_inner(&mut self, text: Option<&str>, alert: bool) -> Result<(), HostError> {
        let Input::Callback { query_id, .. } = &self.input else { return Ok(()) };
        if self.answered {
            return Ok(());
        }
        self.answered = true;
        self.host.answer_callback(query_id, text, alert).await
    }

    /// Whether the callback query has been answered (hosts answer the rest).
    pub fn is_answered(&self) -> bool {
        self.answered
    }

    /// Takes this user's async lock, waiting at most `wait`. `None` means another
    /// operation of the same user still runs: tell the user to try again.
    pub async fn lock_user(&self, wait: Duration) -> Option<Lock> {
        self.host.lock_user(self.user.id, wait).await
    }

    /// Takes this plugin's lock `name`, waiting at most `wait`: one holder at a
    /// time in every process the host serves the bot from — in Redis, with a
    /// fencing token that grows with each taking, when the host runs on Redis
    /// (`[state] backend = "redis"`); in this process only, token 0, otherwise.
    /// For a resource several replicas write, such as a reports directory on
    /// shared storage: hand [`Lock::fence`] to the resource so it can refuse a
    /// holder whose lock ran out while it was paused. `None`: still held (or
    /// Redis unreachable) — tell the user to try again.
    ///
    /// ```
    /// # async fn demo(ctx: &vox_plugin::Ctx) {
    /// use std::time::Duration;
    /// if let Some(lock) = ctx.lock_shared("reports", Duration::from_secs(2)).await {
    ///     let token = lock.fence(); // write with it, then drop the lock
    /// #   let _ = token;
    /// }
    /// # }
    /// ```
    pub async fn lock_shared(&self, name: &str, wait: Duration) -> Option<Lock> {
        self.host.lock_named(self.plugin, name, wait).await
    }

    /// Reports a failure the host cannot see by itself — the handler carried on,
    /// but something the user asked for did not happen (a list not delivered, a
    /// delete whose file survived). Counted against this version; when it is a
    /// canary's candidate, it triggers automatic rollback.
    ///
    /// ```
    /// # async fn demo(ctx: &vox_plugin::Ctx) {
    /// ctx.report_failure("delete_postcondition");
    /// # }
    /// ```
    pub fn report_failure(&self, what: &'static str) {
        tracing::warn!(
            plugin = self.plugin,
            version = self.version,
            failure = what,
            "plugin reported a failure"
        );
        self.host.report_failure(self.plugin, self.version, what);
    }

    /// Now, on the host's clock (tests move it).
    pub fn now(&self) -> Instant {
        self.host.now()
    }

    /// Wall-clock now, on the host's clock: for times kept across a restart
    /// (in [`Ctx::set_user_value`]), where an [`Instant`] means nothing.
    pub fn wall_time(&self) -> std::time::SystemTime {
        self.host.wall_time()
    }

    /// This plugin's value `name` for this chat and user, if stored and not
    /// expired. Values live where dialogue state does, so a value a dialogue
    /// depends on (a list the user numbered from) survives a restart with it.
    ///
    /// ```
    /// # async fn demo(ctx: &mut vox_plugin::Ctx) -> Result<(), vox_plugin::HostError> {
    /// use std::time::Duration;
    /// ctx.set_user_value("last_list", &vec![3, 1, 2], Duration::from_secs(600)).await?;
    /// let list: Option<Vec<u32>> = ctx.user_value("last_list").await?;
    /// assert_eq!(list, Some(vec![3, 1, 2]));
    /// # Ok(()) }
    /// ```
    pub async fn user_value<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, HostError> {
        match self.host.load_value(self.plugin, self.key, name).await? {
            Some(text) => Ok(Some(serde_json::from_str(&text)?)),
            None => Ok(None),
        }
    }

    /// Stores this plugin's value `name` for this chat and user, replacing any,
    /// until `ttl` has passed (see [`Ctx::user_value`]).
    pub async fn set_user_value<T: Serialize + ?Sized>(
        &self,
        name: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), HostError> {
        let text = serde_json::to_string(value)?;
        self.host.store_value(self.plugin, self.key, name, text, ttl).await
    }

    /// Drops this plugin's value `name` for this chat and user.
    pub async fn clear_user_value(&self, name: &str) -> Result<(), HostError> {
        self.host.clear_value(self.plugin, self.key, name).await
    }

    /// The decided version as the plugin's [`crate::Versions`] enum (`None` for
    /// an unversioned plugin). Match on it once, exhaustively.
    pub fn version_as<V: crate::Versions>(&self) -> Option<V> {
        self.version.and_then(V::named)
    }

    /// Every linked plugin's main-menu entry ([`crate::Manifest::menu_entry`]),
    /// in registry order: what a home plugin renders as its menu.
    pub fn menu_entries(&self) -> Vec<crate::MenuEntry> {
        self.host.menu_entries()
    }
}
