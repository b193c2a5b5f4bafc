//! Serving: long polling into the per-chat queues, or webhook mode's
//! listener (a start whose first call fails on the network is retried), every
//! background task spawned and stopped, and the shutdown that lets in-flight
//! updates finish.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use teloxide::prelude::Requester;
use teloxide::types::BotCommand;
use teloxide::{Bot, RequestError};

use teloxide::payloads::SetWebhookSetters;
use teloxide::types::AllowedUpdate;
use tokio::task::JoinHandle;

use super::{Host, Runtime, Way};
use crate::config::Settings;
use crate::dispatch::Dispatch;
use crate::error::RunError;
use crate::intake::chats::Chats;
use crate::intake::polling::Poller;
use crate::intake::webhook::Webhook;
use crate::intake::{Intake, Queue};
use crate::ops::Ops;
use crate::registry::Registry;
use crate::services::Services;

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
        // test that runs a host.
        self.serve(Box::pin(shutdown))
    }

    async fn serve(self, shutdown: BoxFuture<'static, ()>) -> Result<(), RunError> {
        let Host { runtime, bot, settings, reloader, way } = self;
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
        let result = match way {
            Way::Polling(chats) => poll(&runtime, &bot, &settings, chats, shutdown, &mut tasks).await,
            Way::Webhook(intake) => serve_webhook(&runtime, &bot, intake, shutdown, &mut tasks).await,
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

/// Long polling (see `intake::polling`): deletes a webhook (Telegram refuses
/// `getUpdates` while one is set), starts the operator's endpoints, asks
/// `getMe` (a network failure at start is retried), then polls until shutdown
/// and lets the queued updates finish.
async fn poll(
    runtime: &Arc<Runtime>,
    bot: &Bot,
    settings: &Settings,
    chats: Arc<Chats<Dispatch>>,
    shutdown: BoxFuture<'static, ()>,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<(), RunError> {
    let dispatch = Arc::clone(&runtime.dispatch);
    if let Err(e) = bot.delete_webhook().await {
        tracing::warn!(error = %e, "could not delete the webhook; polling may be refused while it is set");
    }
    // After the webhook is gone: /healthz turns ok at the probe's first
    // answer, so "ok" never precedes polling.
    tasks.extend(crate::ops::start(Arc::clone(&runtime.endpoints), dispatch.services.telegram.clone()));
    super::started::log(runtime, "polling", None);

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let ops = Arc::clone(&runtime.ops);
    tasks.push(tokio::spawn(async move {
        shutdown.await;
        ops.stopping();
        tracing::info!("shutting down: no new updates; finishing the ones in flight");
        let _ = stop_tx.send(true);
    }));
    let mut stopped = stop_rx.clone();
    tokio::select! {
        me = get_me(bot, &runtime.ops) => me?,
        _ = stopped.wait_for(|s| *s) => return Ok(()),
    }
    let poller = Poller {
        telegram: dispatch.services.telegram.clone(),
        reach: Arc::clone(&dispatch.services.reach),
        chats,
        timeout: Duration::from_secs(u64::from(settings.telegram.poll_timeout_secs)),
    };
    poller
        .run(async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        })
        .await;
    Ok(())
}

/// `getMe`, the first call: a network failure at start is retried instead of
/// ending the host; another failure (a revoked token) ends it.
async fn get_me(bot: &Bot, ops: &Ops) -> Result<(), RunError> {
    let mut attempt = 0;
    loop {
        let result = bot.get_me().await;
        if !transient(&result) || attempt >= START_RETRIES || ops.is_stopping() {
            return result.map(|_| ()).map_err(|e| RunError::Unreachable(e.to_string()));
        }
        attempt += 1;
        let wait = Duration::from_millis(250 << attempt);
        if let Err(e) = &result {
            tracing::warn!(error = %e, attempt, wait_ms = wait.as_millis() as u64, "telegram did not answer getMe at start; retrying");
        }
        tokio::time::sleep(wait).await;
    }
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
