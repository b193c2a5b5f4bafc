//! One update's way through the host: extract who and what, find the open
//! dialogue (dropping it when expired), route, decide the version, run the
//! handler with panics caught, answer any unanswered callback, log one line.
//! The common way is here; the rare ways are in `update/rare.rs`, each boxed where
//! it is awaited.

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
use crate::dispatch::router::{Pin, Route, route};
use crate::dispatch::texts;
use crate::metrics::Failure;
use crate::registry::PluginIdx;
use crate::rollout::canary::Event;
use crate::rollout::policy::Reason;
use crate::services::state::DialogueState;
use crate::services::update_scope::{self, UpdateScope};

use crate::dispatch::incoming::kind_of;

mod rare;

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
