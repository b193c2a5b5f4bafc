//! The rare ways through an update — the routes the host answers itself, a
//! state store that keeps failing, a handler that failed, a dialogue that
//! expired or was cancelled, a version switched off under a user — kept apart
//! from the common way in `update.rs`, which boxes each where it awaits it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use vox_plugin::{Ctx, Input, MessageKind, StateKey, StepState, User};

use super::{Failed, STATE_WAIT, guarded};
use crate::dispatch::Dispatch;
use crate::dispatch::router::HostRoute;
use crate::dispatch::texts;
use crate::registry::PluginIdx;
use crate::registry::load::LoadedPlugin;
use crate::services::state::DialogueState;

impl Dispatch {
    /// The routes the host answers itself: `/cancel`, an outdated button, an
    /// unknown command, a text nobody understands.
    pub(super) async fn serve_host(
        self: &Arc<Self>,
        route: HostRoute,
        chat: i64,
        user: &User,
        input: &Input,
        state: Option<DialogueState>,
    ) -> &'static str {
        let key = StateKey { chat, user: user.id };
        match route {
            HostRoute::Cancel => {
                let Some(state) = state else {
                    self.say(chat, texts::NOTHING_TO_CANCEL).await;
                    return "nothing_to_cancel";
                };
                if let Err(e) = self.services.state.remove(key).await {
                    tracing::error!(error = %e, "could not drop state on /cancel");
                }
                self.say(chat, texts::CANCELLED).await;
                self.cancelled(chat, user, input, state).await;
                "cancelled"
            }
            HostRoute::Outdated => {
                tracing::warn!(data = input_data(input), "button nobody owns (outdated message)");
                self.answer_unhandled(input, Some(texts::OUTDATED_BUTTON)).await;
                "outdated_button"
            }
            HostRoute::UnknownCommand => {
                self.say(chat, texts::UNKNOWN_COMMAND).await;
                "unknown_command"
            }
            HostRoute::Unrouted => {
                self.say(chat, texts::NOT_UNDERSTOOD).await;
                "not_understood"
            }
        }
    }
    /// [`Dispatch::load_state`] after the store failed with `error`.
    pub(super) async fn load_state_again(
        &self,
        key: StateKey,
        started: Instant,
        mut error: crate::services::state::StateError,
    ) -> Option<Option<DialogueState>> {
        let mut wait = Duration::from_millis(100);
        loop {
            if started.elapsed() + wait > STATE_WAIT {
                tracing::error!(error = %error, waited_ms = started.elapsed().as_millis() as u64, "state store unavailable; the update is not served");
                return None;
            }
            tracing::warn!(error = %error, retry_in_ms = wait.as_millis() as u64, "state store failed; asking again");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(2));
            match self.services.state.get(key).await {
                Ok(s) => return Some(s),
                Err(e) => error = e,
            }
        }
    }
    /// After a handler failed: logs it, ends the dialogue (a failed step may
    /// be half-done, so the user starts clean), answers and apologizes.
    pub(super) async fn failed(
        &self,
        plugin: &'static str,
        chat: i64,
        mut ctx: Ctx,
        step: Option<&'static str>,
        failed: Failed,
    ) -> &'static str {
        tracing::error!(plugin, version = ctx.version(), step, error = %failed, "handler failed");
        let _ = ctx.clear_step().await;
        if let Err(e) = ctx.answer(Some(texts::APOLOGY_TOAST)).await {
            tracing::warn!(error = %e, "could not answer the callback after a failure");
        }
        self.say(chat, texts::APOLOGY).await;
        if matches!(failed, Failed::Panic(_)) { "handler_panic" } else { "handler_error" }
    }
    /// Ends the dialogue of a plugin the user left (a command or button of another).
    pub(super) async fn drop_abandoned(&self, key: StateKey) {
        if let Err(e) = self.services.state.remove(key).await {
            tracing::error!(error = %e, "could not drop the abandoned dialogue");
        }
    }
    /// Answers a callback with `toast`, or says `text` for anything else.
    pub(super) async fn refuse(&self, chat: i64, input: &Input, toast: &str, text: &str) {
        self.answer_unhandled(input, Some(toast)).await;
        if !matches!(input, Input::Callback { .. }) {
            self.say(chat, text).await;
        }
    }
    /// The version an input belongs to can no longer serve it: end the dialogue,
    /// answer, say the menu changed and show the plugin's current menu (its
    /// `entry` command under `current`), or point at /menu if it has none.
    pub(super) async fn menu_updated(
        self: &Arc<Self>,
        idx: PluginIdx,
        current: Option<&'static str>,
        chat: i64,
        user: User,
        input: &Input,
        end_dialogue: bool,
    ) -> &'static str {
        let key = StateKey { chat, user: user.id };
        if end_dialogue && let Err(e) = self.services.state.remove(key).await {
            tracing::error!(error = %e, "could not drop the dialogue of a switched-off version");
        }
        tracing::info!(current, "input of a switched-off version; showing the current menu");
        self.answer_unhandled(input, Some(texts::MENU_UPDATED_TOAST)).await;
        let entry = self.plugin(idx).manifest.entry;
        match (entry, current) {
            (Some(entry), Some(version)) => {
                // Info, so the plugin's menu that follows does not clean the notice away.
                self.say_as(chat, texts::MENU_UPDATED_SHORT, MessageKind::Info).await;
                let command = Input::Command { name: entry.to_owned(), args: String::new() };
                let outcome = self.invoke(idx, Some(version), chat, user, command, None).await;
                if outcome == "ok" { "menu_updated" } else { outcome }
            }
            _ => {
                self.say(chat, texts::MENU_UPDATED).await;
                "menu_updated"
            }
        }
    }
    /// "Section unavailable" (as the callback's answer too), then the main
    /// menu: whichever other plugin owns `/menu`.
    pub(super) async fn unavailable(self: &Arc<Self>, idx: PluginIdx, chat: i64, user: User, input: &Input) {
        self.answer_unhandled(input, Some(texts::SECTION_UNAVAILABLE)).await;
        match self.registry.command("menu").filter(|&m| m != idx) {
            Some(menu) => {
                // Info, so the menu that follows does not clean the notice away.
                self.say_as(chat, texts::SECTION_UNAVAILABLE_SHORT, MessageKind::Info).await;
                let version = self.live.load().plugin(menu).policy.decide(user.id, None).version;
                let command = Input::Command { name: "menu".to_owned(), args: String::new() };
                self.invoke(menu, version, chat, user, command, None).await;
            }
            None => self.say(chat, texts::SECTION_UNAVAILABLE).await,
        }
    }
    /// Tells the owning plugin its dialogue expired; says so itself if the plugin
    /// fails. Returns whether the plugin answered the update's callback query.
    pub(super) async fn expire(
        self: &Arc<Self>,
        chat: i64,
        user: &User,
        input: &Input,
        expired: DialogueState,
    ) -> bool {
        let Some((loaded, mut ctx, state)) = self.owner_ctx(chat, user, input, expired) else { return false };
        let step = state.name;
        let notified = guarded(loaded.plugin.on_expired(&mut ctx, state)).await;
        tracing::info!(plugin = loaded.manifest.id, step, "dialogue expired");
        if let Err(failed) = notified {
            tracing::error!(plugin = loaded.manifest.id, error = %failed, "on_expired failed");
            self.say(chat, texts::STEP_EXPIRED).await;
        }
        ctx.is_answered()
    }
    /// Whether `input` is a button of `version` that stays served when it is off
    /// ([`vox_plugin::Version::kept_when_off`]).
    pub(super) fn kept_when_off(&self, idx: PluginIdx, version: &str, input: &Input) -> bool {
        let Input::Callback { data, .. } = input else { return false };
        self.plugin(idx)
            .manifest
            .versions
            .iter()
            .find(|v| v.name == version)
            .is_some_and(|v| v.kept_when_off.iter().any(|p| data.starts_with(p)))
    }
    /// Tells the dialogue's plugin it was ended by `/cancel`.
    pub(super) async fn cancelled(
        self: &Arc<Self>,
        chat: i64,
        user: &User,
        input: &Input,
        state: DialogueState,
    ) {
        let Some((loaded, mut ctx, cancelled)) = self.owner_ctx(chat, user, input, state) else { return };
        tracing::info!(plugin = loaded.manifest.id, step = cancelled.name, "dialogue cancelled");
        if let Err(failed) = guarded(loaded.plugin.on_cancelled(&mut ctx, cancelled)).await {
            tracing::error!(plugin = loaded.manifest.id, error = %failed, "on_cancelled failed");
        }
    }
    /// The plugin whose step `state` is in, a context for telling it about the
    /// dialogue's end, and the step as the plugin sees it; `None` when no
    /// linked plugin declares the step any more.
    pub(super) fn owner_ctx(
        &self,
        chat: i64,
        user: &User,
        input: &Input,
        state: DialogueState,
    ) -> Option<(&LoadedPlugin, Ctx, StepState)> {
        let step = self.registry.step(state.step)?;
        let loaded = self.plugin(step.plugin);
        let ctx = self.ctx(loaded.manifest.id, state.version, chat, user.clone(), input.clone(), None);
        Some((loaded, ctx, StepState { name: state.step, version: state.version, data: state.data }))
    }
}

fn input_data(input: &Input) -> &str {
    match input {
        Input::Callback { data, .. } => data,
        _ => "",
    }
}
