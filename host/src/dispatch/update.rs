//! One update's way through the host: extract who and what, find the open
//! dialogue (dropping it when expired), route, decide the version, run the
//! handler with panics caught, answer any unanswered callback, log one line.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::OptionFuture;
use tracing::{Instrument, field::Empty};
use vox_plugin::host::CtxParts;
use vox_plugin::{Ctx, Input, MessageKind, StateKey, StepState, User};

use super::Dispatch;
use crate::dispatch::received::Received;
use crate::dispatch::router::{HostRoute, Pin, Route, route};
use crate::dispatch::texts;
use crate::metrics::Failure;
use crate::registry::PluginIdx;
use crate::registry::load::LoadedPlugin;
use crate::rollout::canary::Event;
use crate::rollout::policy::Reason;
use crate::services::state::DialogueState;
use crate::services::update_scope::{self, UpdateScope};

use crate::dispatch::incoming::kind_of;

/// How long an update waits for a state store that does not answer (Redis
/// restarting) before the user is told to repeat it.
const STATE_WAIT: Duration = Duration::from_secs(20);
pub use crate::dispatch::incoming::{Incoming, parse_text};

/// How a plugin call ended when it did not succeed.
enum Failed {
    /// It returned an error.
    Error(vox_plugin::HandlerError),
    /// It panicked, with this message.
    Panic(String),
}

impl Failed {
    fn kind(&self) -> Failure {
        match self {
            Failed::Error(_) => Failure::Error,
            Failed::Panic(_) => Failure::Panic,
        }
    }
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Error(e) => write!(f, "{e}"),
            Failed::Panic(message) => write!(f, "panicked: {message}"),
        }
    }
}

/// Records where the update went: in its scope, and on its span (if there is
/// one) in one call — each `Span::record` is a lookup of the span in the
/// registry and a lock of its extensions. Absent values stay unrecorded.
fn record_route(
    span: &tracing::Span,
    plugin: &'static str,
    version: Option<&'static str>,
    reason: Option<&'static str>,
    step: Option<&'static str>,
) {
    use tracing::field::Value;
    update_scope::set_route(update_scope::Route { plugin: Some(plugin), version, reason, step });
    let Some(meta) = span.metadata() else { return };
    let fields = meta.fields();
    let (Some(p), Some(v), Some(r), Some(s)) =
        (fields.field("plugin"), fields.field("version"), fields.field("reason"), fields.field("step"))
    else {
        return;
    };
    fn value<'a>(x: &'a Option<&'static str>) -> Option<&'a dyn Value> {
        x.as_ref().map(|x| x as &dyn Value)
    }
    span.record_all(&fields.value_set(&[
        (&p, Some(&plugin as &dyn Value)),
        (&v, value(&version)),
        (&r, value(&reason)),
        (&s, value(&step)),
    ]));
}

/// Runs a plugin's future with its panics caught: the one place the host
/// guards plugin code (handlers and `on_expired` alike).
async fn guarded(call: impl Future<Output = Result<(), vox_plugin::HandlerError>>) -> Result<(), Failed> {
    match AssertUnwindSafe(call).catch_unwind().await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Failed::Error(e)),
        Err(payload) => Err(Failed::Panic(
            payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned()),
        )),
    }
}

impl Dispatch {
    /// Serves one update from Telegram.
    ///
    /// This and the next two are plain functions returning the update's
    /// future, not `async fn`s: an `async fn` keeps a future it builds and
    /// then awaits beside the one it awaits (the moved-from value's slot is not
    /// reused), so each layer doubled the update's future.
    pub fn handle_received(self: Arc<Self>, update: Received) -> impl Future<Output = ()> + Send + 'static {
        let arrived = Instant::now();
        self.services.reach.update_received();
        if update.incoming.is_none() {
            self.metrics().update("other");
        }
        OptionFuture::from(update.incoming.map(|incoming| self.handle_arrived(incoming, arrived))).map(drop)
    }

    /// Serves one extracted update inside its span, logging one line with the outcome.
    pub fn handle(self: &Arc<Self>, incoming: Incoming) -> impl Future<Output = ()> + Send + 'static {
        Arc::clone(self).handle_arrived(incoming, Instant::now())
    }

    /// [`Dispatch::handle`] of an update that arrived at `arrived`: its fields
    /// go into its [`update_scope`] (the JSON line reads them there) and, when
    /// a layer needs one, an `update` span.
    fn handle_arrived(
        self: Arc<Self>,
        incoming: Incoming,
        arrived: Instant,
    ) -> impl Future<Output = ()> + Send + 'static {
        let kind = kind_of(&incoming.input);
        self.metrics().update(kind);
        let scope = UpdateScope::new(arrived, incoming.update_id, incoming.chat, incoming.user.id, kind);
        let span = if update_scope::update_span_wanted() {
            tracing::info_span!(
                "update",
                update_id = incoming.update_id,
                chat = incoming.chat,
                user = incoming.user.id,
                kind,
                plugin = Empty,
                version = Empty,
                step = Empty,
                reason = Empty,
            )
        } else {
            tracing::Span::none()
        };
        let serve = async move {
            let outcome = self.serve(incoming, arrived).await;
            let took = arrived.elapsed();
            self.metrics().served(outcome, took);
            let elapsed_us = took.as_micros() as u64;
            // A `&str` message, not format arguments: no formatting machinery per line.
            tracing::info!(message = "update served", outcome, elapsed_us);
        };
        update_scope::serving(scope, serve.instrument(span))
    }

    /// Loads the dialogue, routes and serves. The rare ways through — an
    /// expired dialogue, `/cancel`, a switched-off version's menu — are boxed
    /// where they are awaited: inline, their futures would size (and every
    /// move of it copy) every update's future for the common way.
    async fn serve(self: &Arc<Self>, incoming: Incoming, arrived: Instant) -> &'static str {
        let Incoming { chat, user, input, .. } = incoming;
        let key = StateKey { chat, user: user.id };
        let Some(mut state) = self.load_state(key, arrived).await else {
            Box::pin(self.refuse(chat, &input, texts::STATE_UNAVAILABLE_TOAST, texts::STATE_UNAVAILABLE))
                .await;
            return "state_unavailable";
        };

        if state.as_ref().is_some_and(|s| s.is_expired(self.services.clock.wall()))
            && let Some(expired) = state.take()
        {
            if let Err(e) = self.services.state.remove(key).await {
                tracing::error!(error = %e, "could not drop expired state");
            }
            let answered = Box::pin(self.expire(chat, &user, &input, expired)).await;
            if answered || matches!(input, Input::Text(_) | Input::Unsupported) {
                // The text was the step's answer, or the plugin answered the press
                // itself: the expiry notice is the reply (a callback is answered once).
                return "expired";
            }
        }

        match route(&self.registry, &input, state.as_ref()) {
            Route::Plugin { plugin, pinned } => {
                self.run_plugin(plugin, pinned, chat, user, input, state).await
            }
            Route::Host(other) => Box::pin(self.serve_host(other, chat, &user, &input, state)).await,
        }
    }

    /// The routes the host answers itself: `/cancel`, an outdated button, an
    /// unknown command, a text nobody understands.
    async fn serve_host(
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

    /// The chat member's dialogue; a store that fails (Redis away) is asked
    /// again with backoff for up to [`STATE_WAIT`] — serving without the
    /// dialogue would answer the wrong question. `None`: it stayed away. The
    /// wait counts from `started`, when the update's handling began
    /// (microseconds before), so the normal path reads no clock here.
    async fn load_state(&self, key: StateKey, started: Instant) -> Option<Option<DialogueState>> {
        match self.services.state.get(key).await {
            Ok(s) => Some(s),
            // Boxed: the waits' timer and logging stay out of every update's future.
            Err(e) => Box::pin(self.load_state_again(key, started, e)).await,
        }
    }

    /// [`Dispatch::load_state`] after the store failed with `error`.
    async fn load_state_again(
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

    async fn run_plugin(
        self: &Arc<Self>,
        idx: PluginIdx,
        pinned: Option<Pin>,
        chat: i64,
        user: User,
        input: Input,
        state: Option<DialogueState>,
    ) -> &'static str {
        // Held across the handler's awaits: `load_full` is one Arc clone. A
        // `Guard` held that long pins one of its thread's few debt slots, and
        // with many updates in flight on a thread the rest fall back to a
        // slower path — the cheap way is only cheap while guards are brief.
        let live = self.live.load_full();
        let settings = live.plugin(idx);
        let plugin_id = self.plugin(idx).manifest.id;
        // Looking up the current span costs a registry lookup: only when there is one to record on.
        let span =
            if update_scope::update_span_wanted() { tracing::Span::current() } else { tracing::Span::none() };
        let route =
            |version: Option<&'static str>, reason: Option<&'static str>, step: Option<&'static str>| {
                record_route(&span, plugin_id, version, reason, step)
            };
        let key = StateKey { chat, user: user.id };
        let open = state.as_ref().filter(|s| s.plugin == plugin_id).and_then(|s| s.version);

        if !settings.enabled {
            route(None, None, None);
            // Refused before any version is chosen: not served, not a rollout decision.
            Box::pin(self.refuse(chat, &input, texts::SECTION_UNAVAILABLE, texts::SECTION_UNAVAILABLE)).await;
            return "plugin_disabled";
        }

        let (version, reason) = match pinned {
            // A version's own button is served by that version while it may serve.
            Some(Pin::Button(v)) => {
                let killed = settings.policy.rollout.as_ref().is_some_and(|r| r.kill && r.candidate == v);
                if !settings.policy.is_enabled(v) || killed {
                    let current = settings.policy.decide(user.id, None).version;
                    if current.is_some() && self.kept_when_off(idx, v, &input) {
                        // A retired version's button the version serving now still understands.
                        (current, "legacy_button")
                    } else {
                        route(current, Some("button_switched_off"), None);
                        self.metrics().decision(plugin_id, current, "button_switched_off");
                        return Box::pin(self.menu_updated(idx, current, chat, user, &input, open.is_some()))
                            .await;
                    }
                } else {
                    (Some(v), "button")
                }
            }
            Some(Pin::Dialogue(_)) | None => {
                let decision = settings.policy.decide(user.id, open);
                if decision.reason == Reason::AllDisabled {
                    route(None, Some(decision.reason.as_str()), None);
                    self.metrics().decision(plugin_id, None, decision.reason.as_str());
                    Box::pin(self.unavailable(idx, chat, user, &input)).await;
                    return "all_versions_disabled";
                }
                if open.is_some_and(|o| decision.version != Some(o)) {
                    // The dialogue's version was switched off, killed or overruled.
                    route(decision.version, Some(decision.reason.as_str()), None);
                    self.metrics().decision(plugin_id, decision.version, decision.reason.as_str());
                    return Box::pin(self.menu_updated(idx, decision.version, chat, user, &input, true))
                        .await;
                }
                (decision.version, decision.reason.as_str())
            }
        };
        let own_step = state.as_ref().filter(|s| s.plugin == plugin_id).map(|s| s.step);
        route(version, Some(reason), own_step);
        if let Some(v) = version {
            self.served.record(idx, v, user.id);
        }
        self.metrics().decision(plugin_id, version, reason);

        let step = match state {
            Some(s) if s.plugin == plugin_id => {
                Some(StepState { name: s.step, version: s.version, data: s.data })
            }
            Some(_) => {
                // A command or button of another plugin: the user left that dialogue.
                Box::pin(self.drop_abandoned(key)).await;
                None
            }
            None => None,
        };
        let outcome = self.invoke(idx, version, chat, user, input, step).await;
        if let Some(v) = version.filter(|_| settings.policy.rollout.is_some()) {
            // Health windows are kept for canaries only: the rollback triggers read them.
            let failed = outcome == "handler_error" || outcome == "handler_panic";
            let event = if failed { Event::Failed } else { Event::Ok };
            self.services.canary.record(idx, v, event, self.now_secs());
            if failed {
                let _ = self.services.failures.try_send(idx);
            }
        }
        outcome
    }

    /// Runs a plugin's handler with panics caught; apologizes on failure and
    /// answers the callback if the handler did not.
    async fn invoke(
        self: &Arc<Self>,
        idx: PluginIdx,
        version: Option<&'static str>,
        chat: i64,
        user: User,
        input: Input,
        step: Option<StepState>,
    ) -> &'static str {
        let loaded = self.plugin(idx);
        let plugin_id = loaded.manifest.id;
        let step_name = step.as_ref().map(|s| s.name);
        let mut ctx = self.ctx(plugin_id, version, chat, user, input, step);
        let started = Instant::now();
        let result = guarded(loaded.plugin.handle(&mut ctx)).await;
        let took = started.elapsed();
        self.metrics().handler(plugin_id, version, step_name, took, result.as_ref().err().map(Failed::kind));
        match result {
            Ok(()) => {
                if let Err(e) = ctx.answer(None).await {
                    tracing::warn!(error = %e, "could not answer the callback");
                }
                "ok"
            }
            Err(failed) => Box::pin(self.failed(plugin_id, chat, ctx, step_name, failed)).await,
        }
    }

    /// After a handler failed: logs it, ends the dialogue (a failed step may
    /// be half-done, so the user starts clean), answers and apologizes.
    async fn failed(
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
    async fn drop_abandoned(&self, key: StateKey) {
        if let Err(e) = self.services.state.remove(key).await {
            tracing::error!(error = %e, "could not drop the abandoned dialogue");
        }
    }

    /// Answers a callback with `toast`, or says `text` for anything else.
    async fn refuse(&self, chat: i64, input: &Input, toast: &str, text: &str) {
        self.answer_unhandled(input, Some(toast)).await;
        if !matches!(input, Input::Callback { .. }) {
            self.say(chat, text).await;
        }
    }

    /// The version an input belongs to can no longer serve it: end the dialogue,
    /// answer, say the menu changed and show the plugin's current menu (its
    /// `entry` command under `current`), or point at /menu if it has none.
    async fn menu_updated(
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
    async fn unavailable(self: &Arc<Self>, idx: PluginIdx, chat: i64, user: User, input: &Input) {
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
    async fn expire(self: &Arc<Self>, chat: i64, user: &User, input: &Input, expired: DialogueState) -> bool {
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
    fn kept_when_off(&self, idx: PluginIdx, version: &str, input: &Input) -> bool {
        let Input::Callback { data, .. } = input else { return false };
        self.plugin(idx)
            .manifest
            .versions
            .iter()
            .find(|v| v.name == version)
            .is_some_and(|v| v.kept_when_off.iter().any(|p| data.starts_with(p)))
    }

    /// Tells the dialogue's plugin it was ended by `/cancel`.
    async fn cancelled(self: &Arc<Self>, chat: i64, user: &User, input: &Input, state: DialogueState) {
        let Some((loaded, mut ctx, cancelled)) = self.owner_ctx(chat, user, input, state) else { return };
        tracing::info!(plugin = loaded.manifest.id, step = cancelled.name, "dialogue cancelled");
        if let Err(failed) = guarded(loaded.plugin.on_cancelled(&mut ctx, cancelled)).await {
            tracing::error!(plugin = loaded.manifest.id, error = %failed, "on_cancelled failed");
        }
    }

    /// The plugin whose step `state` is in, a context for telling it about the
    /// dialogue's end, and the step as the plugin sees it; `None` when no
    /// linked plugin declares the step any more.
    fn owner_ctx(
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

    /// A handler's context over the host's services.
    fn ctx(
        &self,
        plugin: &'static str,
        version: Option<&'static str>,
        chat: i64,
        user: User,
        input: Input,
        step: Option<StepState>,
    ) -> Ctx {
        Ctx::new(CtxParts { host: Arc::clone(&self.api), plugin, version, chat, user, input, step })
    }

    /// Sends one of the host's own messages; failures are logged, not raised.
    async fn say(&self, chat: i64, text: &str) {
        self.say_as(chat, text, MessageKind::Status).await;
    }

    async fn say_as(&self, chat: i64, text: &str, kind: MessageKind) {
        use vox_plugin::host::HostApi;
        let message = vox_plugin::Outgoing::Text { text: text.to_owned(), keyboard: None };
        if let Err(e) = self.services.send(chat, kind, message).await {
            tracing::warn!(error = %e, "could not send the host's message");
        }
    }

    /// Answers a callback no handler saw.
    async fn answer_unhandled(&self, input: &Input, text: Option<&str>) {
        use vox_plugin::host::HostApi;
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
