//! Serving: long polling wired into teloxide's dispatcher, or webhook mode's
//! listener (a start whose first call fails on the network is retried), every
//! background task spawned and stopped, and the shutdown that lets in-flight
//! updates finish.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use teloxide::dispatching::{Dispatcher, UpdateHandler};
use teloxide::error_handlers::ErrorHandler;
use teloxide::prelude::{Requester, dptree};
use teloxide::types::{BotCommand, Update};
use teloxide::update_listeners::{Polling, UpdateListener};
use teloxide::{Bot, RequestError};

use teloxide::payloads::SetWebhookSetters;
use teloxide::types::AllowedUpdate;
use tokio::task::JoinHandle;

use super::{Host, Runtime};
use crate::config::Settings;
use crate::dispatch::Dispatch;
use crate::error::RunError;
use crate::intake::webhook::Webhook;
use crate::intake::{Intake, Queue};
use crate::ops::Ops;
use crate::registry::Registry;
use crate::services::Services;
use crate::services::telegram::Telegram;

/// How often long-expired dialogues are swept from the store.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Expired dialogues are kept this long so a returning user still hears that
/// the step timed out; after that they are dropped silently.
const KEEP_EXPIRED: Duration = Duration::from_secs(3600);

impl Host {
    /// The built host (benchmarks and tests drive updates through it).
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Serves updates — long polling, or the webhook in webhook mode — until
    /// `shutdown` resolves; then takes no new updates and lets the ones in
    /// flight finish.
    pub fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = Result<(), RunError>> + Send {
        // Boxed once, here: the serving code is then not generic, so it is
        // compiled once in this crate instead of again in every binary and
        // test that runs a host (the dispatcher's types make it large).
        self.serve(Box::pin(shutdown))
    }

    async fn serve(self, shutdown: BoxFuture<'static, ()>) -> Result<(), RunError> {
        let Host { runtime, bot, settings, reloader, intake } = self;
        let dispatch = Arc::clone(&runtime.dispatch);
        register_commands(&bot, &dispatch.registry).await;

        let mut tasks = vec![tokio::spawn(sweep(Arc::clone(&dispatch.services)))];
        let status_path = runtime.data_dir.join(crate::rollout::status::STATUS_FILE);
        tasks
            .push(tokio::spawn(crate::rollout::status::write_loop(Arc::clone(&runtime.status), status_path)));
        let failures = runtime.failures.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(rx) = failures {
            tasks.push(tokio::spawn(crate::rollout::autorollback::watch(Arc::clone(&runtime.watcher), rx)));
        }
        if let Some(redis) = &runtime.redis {
            let served = Arc::clone(&runtime.served);
            tasks.push(tokio::spawn(served.share(redis.connection(), redis.prefix().to_owned())));
        }
        let (stop_watching, watching_stopped) = tokio::sync::oneshot::channel::<()>();
        let watcher = reloader.map(|r| {
            tokio::spawn(r.watch(async {
                let _ = watching_stopped.await;
            }))
        });
        let result = match intake {
            None => poll(&runtime, &bot, &settings, shutdown, &mut tasks).await,
            Some(intake) => serve_webhook(&runtime, &bot, intake, shutdown, &mut tasks).await,
        };
        for task in tasks {
            task.abort();
        }
        let _ = stop_watching.send(());
        if let Some(w) = watcher {
            let _ = w.await;
        }
        result?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Long polling through teloxide's dispatcher (updates of one chat in order,
/// chats in parallel); the operator's endpoints start once the listener exists.
async fn poll(
    runtime: &Arc<Runtime>,
    bot: &Bot,
    settings: &Settings,
    shutdown: BoxFuture<'static, ()>,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<(), RunError> {
    let dispatch = Arc::clone(&runtime.dispatch);
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler())
        .dependencies(dptree::deps![Arc::clone(&dispatch)])
        .build();
    let poll_timeout = Duration::from_secs(u64::from(settings.telegram.poll_timeout_secs));
    let mut listener = polling(bot, poll_timeout).await;
    // After the listener exists: /healthz turns ok at the probe's first answer,
    // so "ok" never precedes polling.
    tasks.extend(crate::ops::start(Arc::clone(&runtime.endpoints), dispatch.services.telegram.clone()));
    super::started::log(runtime, "polling", None);

    // Stop through the listener, not the dispatcher's ShutdownToken: the token
    // wakes the dispatcher with `Notify::notify_waiters`, which loses a shutdown
    // that arrives while the dispatcher is busy handing an update to a worker
    // (seen as a rare hang). The listener's stop flag is sticky; once polling
    // ends, the dispatcher drains its workers (in-flight updates finish) and returns.
    // The slot holds the current listener's token (a start that is retried makes a new one).
    let stop_slot = Arc::new(std::sync::Mutex::new(listener.stop_token()));
    let ops = Arc::clone(&runtime.ops);
    let slot = Arc::clone(&stop_slot);
    tasks.push(tokio::spawn(async move {
        shutdown.await;
        ops.stopping();
        tracing::info!("shutting down: no new updates; finishing the ones in flight");
        slot.lock().unwrap_or_else(|p| p.into_inner()).stop();
    }));
    let poll_errors =
        Arc::new(PollErrors { telegram: dispatch.services.telegram.clone(), ops: Arc::clone(&runtime.ops) });
    let mut attempt = 0;
    let result = loop {
        // It fails only at its first call (getMe), before taking any update: a
        // network blip at start is retried instead of ending the host.
        let result = dispatcher.try_dispatch_with_listener(listener, Arc::clone(&poll_errors)).await;
        if !transient(&result) || attempt >= START_RETRIES || runtime.ops.is_stopping() {
            break result;
        }
        attempt += 1;
        let wait = Duration::from_millis(250 << attempt);
        if let Err(e) = &result {
            tracing::warn!(error = %e, attempt, wait_ms = wait.as_millis() as u64, "telegram did not answer getMe at start; retrying");
        }
        tokio::time::sleep(wait).await;
        listener = polling(bot, poll_timeout).await;
        let mut current = stop_slot.lock().unwrap_or_else(|p| p.into_inner());
        *current = listener.stop_token();
        if runtime.ops.is_stopping() {
            current.stop();
        }
    };
    result.map_err(|e: RequestError| RunError::Unreachable(e.to_string()))
}

fn transient<T>(result: &Result<T, RequestError>) -> bool {
    matches!(result, Err(RequestError::Network(_) | RequestError::Io(_) | RequestError::RetryAfter(_)))
}

/// Webhook mode: `setWebhook` (retried while Telegram is unreachable), then the
/// listener until shutdown; then deliveries are answered 503 (Telegram keeps
/// them for the next replica or start) and the accepted ones are finished.
/// The webhook is left set: other replicas still serve it.
async fn serve_webhook(
    runtime: &Arc<Runtime>,
    bot: &Bot,
    intake: Intake,
    shutdown: BoxFuture<'static, ()>,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<(), RunError> {
    let Intake { webhook, queue } = intake;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ops = Arc::clone(&runtime.ops);
    let accepting = Arc::clone(&webhook);
    let taking = queue.clone();
    tasks.push(tokio::spawn(async move {
        shutdown.await;
        ops.stopping();
        accepting.stop_accepting();
        if let Queue::Shared(shared) = &taking {
            shared.stop();
        }
        tracing::info!("shutting down: webhook deliveries are answered 503; finishing the accepted updates");
        let _ = stop_tx.send(true);
    }));
    let mut stopped = stop_rx.clone();
    tokio::select! {
        set = set_webhook(bot, &webhook, &runtime.ops) => set?,
        _ = stopped.wait_for(|s| *s) => return Ok(()),
    }
    tasks.extend(crate::ops::start(
        Arc::clone(&runtime.endpoints),
        runtime.dispatch.services.telegram.clone(),
    ));
    tracing::info!(listen = %webhook.addr(), path = %webhook.path, url = %webhook.url, "serving the webhook");
    super::started::log(runtime, "webhook", Some(webhook.addr()));
    let drainer = match &queue {
        Queue::Shared(shared) => Some(tokio::spawn(Arc::clone(shared).run(Arc::clone(&runtime.dispatch)))),
        Queue::Local(chats) => {
            // Before new deliveries: what the last run accepted comes first, in its chats' order.
            chats.replay().await;
            None
        }
    };
    let mut stopped = stop_rx;
    let served = Arc::clone(&webhook)
        .serve(queue.clone(), async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
        .await;
    match (&queue, drainer) {
        (Queue::Local(chats), _) => chats.idle().await,
        (Queue::Shared(shared), Some(drainer)) => {
            // The listener can end on its own (an error): stop taking chats then too.
            shared.stop();
            let _ = drainer.await;
        }
        (Queue::Shared(_), None) => {}
    }
    served.map_err(|e| RunError::Listener(e.to_string()))
}

/// Points Telegram at the webhook; network failures at start are retried as
/// polling's first call is.
async fn set_webhook(bot: &Bot, webhook: &Webhook, ops: &Ops) -> Result<(), RunError> {
    let url: url::Url =
        webhook.url.parse().map_err(|e| RunError::Webhook(format!("`{}`: {e}", webhook.url)))?;
    let mut attempt = 0;
    loop {
        let result = bot
            .set_webhook(url.clone())
            .secret_token(webhook.secret.clone())
            .max_connections(webhook.max_connections)
            .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery])
            .await;
        if !transient(&result) || attempt >= START_RETRIES || ops.is_stopping() {
            return result.map(|_| ()).map_err(|e| match e {
                RequestError::Api(e) => RunError::Webhook(e.to_string()),
                e => RunError::Unreachable(e.to_string()),
            });
        }
        attempt += 1;
        let wait = Duration::from_millis(250 << attempt);
        if let Err(e) = &result {
            tracing::warn!(error = %e, attempt, wait_ms = wait.as_millis() as u64, "telegram did not answer setWebhook at start; retrying");
        }
        tokio::time::sleep(wait).await;
    }
}

/// How often a start whose first call (getMe) fails on the network is retried
/// (waits of 0.5, 1, 2, 4 and 8 s) before the host gives up.
const START_RETRIES: u32 = 5;

/// The long-polling listener (deleting a webhook first, as Telegram requires).
async fn polling(bot: &Bot, timeout: Duration) -> impl UpdateListener<Err = RequestError> + use<> {
    Polling::builder(bot.clone()).timeout(timeout).delete_webhook().await.build()
}

/// Long-poll failures: logged, counted, and seen by `/healthz`.
struct PollErrors {
    telegram: Telegram,
    ops: Arc<Ops>,
}

impl ErrorHandler<RequestError> for PollErrors {
    fn handle_error(self: Arc<Self>, error: RequestError) -> BoxFuture<'static, ()> {
        self.telegram.metrics.api_error("getUpdates", crate::metrics::error_kind(&error));
        if matches!(error, RequestError::Api(teloxide::ApiError::TerminatedByOtherGetUpdates)) {
            tracing::error!(
                error = %error,
                "another process is polling Telegram with this bot token (409 Conflict): the two take each \
                 other's updates. Run one polling process per token — stop the other one — or run replicas \
                 in webhook mode"
            );
            self.ops.reach.poll_conflict();
        } else {
            tracing::error!(error = %error, "polling failed");
            self.ops.reach.poll_failed();
        }
        Box::pin(async {})
    }
}

fn handler() -> UpdateHandler<Infallible> {
    // The future is handle_update's own, not an async block holding the
    // `Update` (1.9 KB) beside it: dptree boxes what this returns.
    dptree::endpoint(|update: Update, dispatch: Arc<Dispatch>| dispatch.handle_update(update).map(Ok))
}

/// Publishes every plugin command (and the host's /cancel) to Telegram's menu.
async fn register_commands(bot: &Bot, registry: &Registry) {
    let mut commands: Vec<BotCommand> = registry
        .manifests()
        .iter()
        .flat_map(|m| m.commands.iter())
        .map(|c| BotCommand::new(c.name, c.description))
        .collect();
    commands.push(BotCommand::new("cancel", "Отменить текущее действие"));
    if let Err(e) = bot.set_my_commands(commands).await {
        tracing::warn!(error = %e, "could not publish the command menu");
    }
}

async fn sweep(services: Arc<Services>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tick.tick().await;
        let Some(cutoff) = services.clock.wall().checked_sub(KEEP_EXPIRED) else { continue };
        match services.state.purge_expired(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(purged = n, "swept long-expired dialogues"),
            Err(e) => tracing::warn!(error = %e, "state sweep failed"),
        }
    }
}
