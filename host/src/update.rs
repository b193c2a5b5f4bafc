//! One update's way through the host: extract who and what, find the open
//! dialogue (dropping it when expired), route, decide the version, run the
//! handler with panics caught, answer any unanswered callback, log one line.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;
use teloxide::types::{Update, UpdateKind};
use tracing::{Instrument, field::Empty};
use vox_plugin::{Ctx, CtxParts, Input, MessageKind, StateKey, StepState, User};

use crate::rollout::Reason;
use crate::router::{Pin, Route, route};
use crate::runtime::Runtime;
use crate::state::DialogueState;
use crate::texts;

/// What the host needs of an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The chat.
    pub chat: i64,
    /// The user.
    pub user: User,
    /// What they did.
    pub input: Input,
}

impl Incoming {
    /// Takes a message or a callback query apart; other updates are not for plugins.
    pub fn from_update(update: Update) -> Option<Self> {
        match update.kind {
            UpdateKind::Message(msg) => {
                let user = user(msg.from.as_ref()?);
                let input = match msg.text() {
                    Some(text) => parse_text(text),
                    None => Input::Unsupported,
                };
                Some(Self { chat: msg.chat.id.0, user, input })
            }
            UpdateKind::CallbackQuery(q) => {
                let user = user(&q.from);
                let (chat, message_id) = match &q.message {
                    Some(m) => (m.chat().id.0, Some(m.id().0)),
                    None => (user.id, None),
                };
                let input =
                    Input::Callback { query_id: q.id.0, data: q.data.unwrap_or_default(), message_id };
                Some(Self { chat, user, input })
            }
            _ => None,
        }
    }
}

fn user(u: &teloxide::types::User) -> User {
    // Telegram ids fit in 52 bits; the cast cannot wrap.
    User { id: u.id.0 as i64, name: u.full_name(), username: u.username.clone() }
}

/// `/name@bot args` → a command; anything else → text.
pub fn parse_text(text: &str) -> Input {
    if let Some(rest) = text.strip_prefix('/') {
        let (head, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let name = head.split_once('@').map_or(head, |(n, _)| n);
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Input::Command { name: name.to_owned(), args: args.trim().to_owned() };
        }
    }
    Input::Text(text.to_owned())
}

fn kind_of(input: &Input) -> &'static str {
    match input {
        Input::Text(_) => "text",
        Input::Command { .. } => "command",
        Input::Callback { .. } => "callback",
        Input::Unsupported => "other",
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

impl Runtime {
    /// Serves one update from Telegram.
    pub async fn handle_update(self: &Arc<Self>, update: Update) {
        let Some(incoming) = Incoming::from_update(update) else { return };
        self.handle(incoming).await;
    }

    /// Serves one extracted update inside its span, logging one line with the outcome.
    pub async fn handle(self: &Arc<Self>, incoming: Incoming) {
        let span = tracing::info_span!(
            "update",
            chat = incoming.chat,
            user = incoming.user.id,
            kind = kind_of(&incoming.input),
            plugin = Empty,
            version = Empty,
            step = Empty,
            reason = Empty,
        );
        let started = Instant::now();
        async move {
            let outcome = self.serve(incoming).await;
            let elapsed_us = started.elapsed().as_micros() as u64;
            tracing::info!(outcome, elapsed_us, "update served");
        }
        .instrument(span)
        .await
    }

    async fn serve(self: &Arc<Self>, incoming: Incoming) -> &'static str {
        let Incoming { chat, user, input } = incoming;
        let key = StateKey { chat, user: user.id };
        let mut state = match self.services.state.get(key).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "state store failed; serving without the dialogue");
                None
            }
        };

        if state.as_ref().is_some_and(|s| s.is_expired(self.services.clock.now()))
            && let Some(expired) = state.take()
        {
            if let Err(e) = self.services.state.remove(key).await {
                tracing::error!(error = %e, "could not drop expired state");
            }
            self.expire(chat, &user, &input, expired).await;
            if matches!(input, Input::Text(_) | Input::Unsupported) {
                // The text was the step's answer; the expiry notice is the reply.
                return "expired";
            }
        }

        match route(&self.registry, &input, state.as_ref()) {
            Route::Plugin { plugin, pinned } => {
                self.run_plugin(plugin, pinned, chat, user, input, state).await
            }
            Route::Cancel => {
                let had = state.is_some();
                if had && let Err(e) = self.services.state.remove(key).await {
                    tracing::error!(error = %e, "could not drop state on /cancel");
                }
                self.say(chat, if had { texts::CANCELLED } else { texts::NOTHING_TO_CANCEL }).await;
                if had { "cancelled" } else { "nothing_to_cancel" }
            }
            Route::Outdated => {
                tracing::warn!(data = input_data(&input), "button nobody owns (outdated message)");
                self.answer_unhandled(&input, Some(texts::OUTDATED_BUTTON)).await;
                "outdated_button"
            }
            Route::UnknownCommand => {
                self.say(chat, texts::UNKNOWN_COMMAND).await;
                "unknown_command"
            }
            Route::Unrouted => {
                self.say(chat, texts::NOT_UNDERSTOOD).await;
                "not_understood"
            }
        }
    }

    async fn run_plugin(
        self: &Arc<Self>,
        idx: usize,
        pinned: Option<Pin>,
        chat: i64,
        user: User,
        input: Input,
        state: Option<DialogueState>,
    ) -> &'static str {
        let loaded = &self.plugins[idx];
        let live = self.live.load();
        let settings = &live.plugins[idx];
        let plugin_id = loaded.manifest.id;
        let span = tracing::Span::current();
        span.record("plugin", plugin_id);
        let key = StateKey { chat, user: user.id };

        let (version, reason) = match pinned {
            // A version's own button is served by that version while it may serve.
            Some(Pin::Button(v)) => {
                let killed = settings.policy.rollout.as_ref().is_some_and(|r| r.kill && r.candidate == v);
                if !settings.policy.is_enabled(v) || killed {
                    return self
                        .menu_updated(key, &input, state.is_some_and(|s| s.plugin == plugin_id))
                        .await;
                }
                (Some(v), "button")
            }
            Some(Pin::Dialogue(_)) | None => {
                let open = state.as_ref().filter(|s| s.plugin == plugin_id).and_then(|s| s.version);
                let decision = settings.policy.decide(user.id, open);
                if decision.reason == Reason::AllDisabled {
                    self.answer_unhandled(&input, Some(texts::SECTION_UNAVAILABLE)).await;
                    self.say(chat, texts::SECTION_UNAVAILABLE).await;
                    return "all_versions_disabled";
                }
                if open.is_some_and(|o| decision.version != Some(o)) {
                    // The dialogue's version was switched off, killed or overruled.
                    return self.menu_updated(key, &input, true).await;
                }
                (decision.version, decision.reason.as_str())
            }
        };
        if let Some(v) = version {
            span.record("version", v);
        }
        span.record("reason", reason);

        if !settings.enabled {
            self.answer_unhandled(&input, Some(texts::SECTION_UNAVAILABLE)).await;
            if !matches!(input, Input::Callback { .. }) {
                self.say(chat, texts::SECTION_UNAVAILABLE).await;
            }
            return "plugin_disabled";
        }

        let step = match state {
            Some(s) if s.plugin == plugin_id => {
                span.record("step", s.step);
                Some(StepState { name: s.step, version: s.version, data: s.data })
            }
            Some(_) => {
                // A command or button of another plugin: the user left that dialogue.
                if let Err(e) = self.services.state.remove(key).await {
                    tracing::error!(error = %e, "could not drop the abandoned dialogue");
                }
                None
            }
            None => None,
        };
        let step_name = step.as_ref().map(|s| s.name);

        let mut ctx = Ctx::new(CtxParts {
            host: Arc::clone(&self.api),
            plugin: plugin_id,
            version,
            chat,
            user,
            input,
            step,
        });
        let result = AssertUnwindSafe(loaded.plugin.handle(&mut ctx)).catch_unwind().await;
        let outcome = match result {
            Ok(Ok(())) => "ok",
            Ok(Err(e)) => {
                tracing::error!(plugin = plugin_id, version, step = step_name, error = %e, "handler failed");
                "handler_error"
            }
            Err(panic) => {
                let message = panic_message(&*panic);
                tracing::error!(plugin = plugin_id, version, step = step_name, panic = %message, "handler panicked");
                "handler_panic"
            }
        };
        if outcome != "ok" {
            // A failed step may be half-done: end the dialogue so the user starts clean.
            let _ = ctx.clear_step().await;
            if let Err(e) = ctx.answer(Some(texts::APOLOGY_TOAST)).await {
                tracing::warn!(error = %e, "could not answer the callback after a failure");
            }
            self.say(chat, texts::APOLOGY).await;
        } else if let Err(e) = ctx.answer(None).await {
            tracing::warn!(error = %e, "could not answer the callback");
        }
        outcome
    }

    /// Tells the owning plugin its dialogue expired; says so itself if the plugin fails.
    async fn expire(self: &Arc<Self>, chat: i64, user: &User, input: &Input, expired: DialogueState) {
        let Some(step) = self.registry.step(expired.step) else { return };
        let loaded = &self.plugins[step.plugin];
        let state = StepState { name: expired.step, version: expired.version, data: expired.data };
        let mut ctx = Ctx::new(CtxParts {
            host: Arc::clone(&self.api),
            plugin: loaded.manifest.id,
            version: expired.version,
            chat,
            user: user.clone(),
            input: input.clone(),
            step: None,
        });
        let notified = AssertUnwindSafe(loaded.plugin.on_expired(&mut ctx, state)).catch_unwind().await;
        tracing::info!(plugin = loaded.manifest.id, step = expired.step, "dialogue expired");
        match notified {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(plugin = loaded.manifest.id, error = %e, "on_expired failed");
                self.say(chat, texts::STEP_EXPIRED).await;
            }
            Err(panic) => {
                tracing::error!(plugin = loaded.manifest.id, panic = %panic_message(&*panic), "on_expired panicked");
                self.say(chat, texts::STEP_EXPIRED).await;
            }
        }
    }

    /// The version an input belongs to can no longer serve it: end the dialogue,
    /// answer, and point the user at the current menu.
    async fn menu_updated(&self, key: StateKey, input: &Input, end_dialogue: bool) -> &'static str {
        if end_dialogue && let Err(e) = self.services.state.remove(key).await {
            tracing::error!(error = %e, "could not drop the dialogue of a switched-off version");
        }
        tracing::info!("input of a switched-off version; told the user the menu changed");
        self.answer_unhandled(input, Some(texts::MENU_UPDATED_TOAST)).await;
        self.say(key.chat, texts::MENU_UPDATED).await;
        "menu_updated"
    }

    /// Sends one of the host's own messages; failures are logged, not raised.
    async fn say(&self, chat: i64, text: &str) {
        use vox_plugin::HostApi;
        let message = vox_plugin::Outgoing::Text { text: text.to_owned(), keyboard: None };
        if let Err(e) = self.services.send(chat, MessageKind::Status, message).await {
            tracing::warn!(error = %e, "could not send the host's message");
        }
    }

    /// Answers a callback no handler saw.
    async fn answer_unhandled(&self, input: &Input, text: Option<&str>) {
        use vox_plugin::HostApi;
        if let Input::Callback { query_id, .. } = input
            && let Err(e) = self.services.answer_callback(query_id, text, false).await
        {
            tracing::warn!(error = %e, "could not answer the callback");
        }
    }
}

fn input_data(input: &Input) -> &str {
    match input {
        Input::Callback { data, .. } => data,
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_parsed_with_bot_suffix_and_args() {
        assert_eq!(parse_text("/start"), Input::Command { name: "start".into(), args: String::new() });
        assert_eq!(
            parse_text("/menu@vox_bot  now "),
            Input::Command { name: "menu".into(), args: "now".into() }
        );
        assert_eq!(parse_text("/"), Input::Text("/".into()));
        assert_eq!(parse_text("/ привет"), Input::Text("/ привет".into()));
        assert_eq!(parse_text("12"), Input::Text("12".into()));
    }
}
