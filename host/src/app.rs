//! # The composition root
//!
//! Builds every owner from config — the plugins, the live config's writer, the
//! services, the per-update [`Dispatch`], the operator's endpoints —, registers
//! each subsystem's metrics collector, wires the update path into teloxide's
//! dispatcher (updates of one chat in order, chats in parallel) and spawns every
//! background task. The only module that knows all the others.

use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use teloxide::dispatching::{Dispatcher, UpdateHandler};
use teloxide::error_handlers::ErrorHandler;
use teloxide::prelude::{Requester, dptree};
use teloxide::types::{BotCommand, Update};
use teloxide::update_listeners::{Polling, UpdateListener};
use teloxide::{Bot, RequestError};
use tokio::sync::mpsc;
use vox_plugin::Clock;
use vox_plugin::host::HostApi;

use crate::config::{Settings, Sources};
use crate::dispatch::Dispatch;
use crate::error::{Error, RunError, StartError};
use crate::metrics::{Collect, Metrics};
use crate::ops::{Endpoints, Ops};
use crate::registry::load::{self as plugins, Checked, Loaded, LoadedPlugin, PluginSamples};
use crate::registry::{PluginIdx, Registry};
use crate::rollout::autorollback::Watcher;
use crate::rollout::canary::Canary;
use crate::rollout::live::{LiveConfig, file_stamp};
use crate::rollout::reload::Reloader;
use crate::rollout::served::Served;
use crate::rollout::status::StatusSource;
use crate::rollout::writer::{LiveWriter, ReloadStats, WriterSetup};
use crate::services::Services;
use crate::services::locks::UserLocks;
use crate::services::state::{MemoryStore, StateStore};
use crate::services::telegram::Telegram;
use crate::services::tracker::Tracker;

/// How often long-expired dialogues are swept from the store.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Expired dialogues are kept this long so a returning user still hears that
/// the step timed out; after that they are dropped silently.
const KEEP_EXPIRED: Duration = Duration::from_secs(3600);
/// Failure reports queued for the automatic-rollback watcher at most.
const FAILURE_CHECKS: usize = 64;

/// The built host's owners, by name.
pub struct Runtime {
    dispatch: Arc<Dispatch>,
    writer: Arc<LiveWriter>,
    ops: Arc<Ops>,
    endpoints: Arc<Endpoints>,
    watcher: Arc<Watcher>,
    status: Arc<StatusSource>,
    data_dir: PathBuf,
    failures: std::sync::Mutex<Option<mpsc::Receiver<PluginIdx>>>,
}

impl Runtime {
    /// What one update needs (benchmarks and tests drive updates through it).
    pub fn dispatch(&self) -> &Arc<Dispatch> {
        &self.dispatch
    }

    /// The live config now (cheap; no allocation).
    pub fn live(&self) -> arc_swap::Guard<Arc<LiveConfig>> {
        self.dispatch.live()
    }

    /// The live config's one writer (config reload, automatic rollback).
    pub fn writer(&self) -> &Arc<LiveWriter> {
        &self.writer
    }

    /// What config reloading has done.
    pub fn reload_stats(&self) -> &ReloadStats {
        self.writer.stats()
    }

    /// Automatic rollbacks since start.
    pub fn rollbacks(&self) -> u64 {
        self.writer.rollbacks()
    }

    /// Where `/healthz` and `/metrics` listen, if they are on.
    pub fn ops_addr(&self) -> Option<std::net::SocketAddr> {
        self.ops.addr()
    }

    /// The host's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        self.dispatch.metrics()
    }
}

/// Builds a [`Host`]: the same path for `main` and for tests.
pub struct HostBuilder {
    settings: Settings,
    clock: Clock,
    state: Option<Arc<dyn StateStore>>,
    sources: Option<Sources>,
}

impl HostBuilder {
    /// A builder over validated settings.
    pub fn new(settings: Settings) -> Self {
        Self { settings, clock: Clock::default(), state: None, sources: None }
    }

    /// Applies changes of the config file of `sources` (re-read with the same
    /// layers as at start) without a restart.
    pub fn watch(mut self, sources: Sources) -> Self {
        self.sources = Some(sources).filter(|s| s.file.is_some());
        self
    }

    /// [`HostBuilder::watch`] of this file over the library's defaults and `env`.
    pub fn watch_config(self, path: PathBuf, env: Vec<(String, String)>) -> Self {
        self.watch(Sources::new(Some(path), env))
    }

    /// Uses this clock (tests move it forward).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Uses this state store instead of the configured one.
    pub fn state_store(mut self, store: Arc<dyn StateStore>) -> Self {
        self.state = Some(store);
        self
    }

    /// Validates the registry and builds every plugin; the bot is not contacted yet.
    pub fn build(self, bot: Bot) -> Result<Host, StartError> {
        let Loaded { registry, checked, plugins } =
            plugins::load(&plugins::linked(), &self.settings.plugins, &self.settings.setup())?;
        let plugins: Arc<[LoadedPlugin]> = plugins.into();
        let ops = Arc::new(Ops::bind(&self.settings)?);
        let metrics = Arc::new(Metrics::default());
        let state: Arc<dyn StateStore> = self.state.unwrap_or_else(|| Arc::new(MemoryStore::default()));
        let canary = Arc::new(Canary::new(registry.manifests()));
        let (failures_tx, failures_rx) = mpsc::channel(FAILURE_CHECKS);
        let epoch = self.clock.now();
        let services = Arc::new(Services {
            telegram: Telegram { bot: bot.clone(), metrics: Arc::clone(&metrics), home: registry.home() },
            metrics: Arc::clone(&metrics),
            registry: Arc::clone(&registry),
            state,
            tracker: Tracker::default(),
            locks: UserLocks::default(),
            clock: self.clock.clone(),
            canary: Arc::clone(&canary),
            reach: Arc::clone(&ops.reach),
            failures: failures_tx,
            epoch,
        });
        let config_path = self.sources.as_ref().and_then(|s| s.file.clone());
        let stamp =
            config_path.as_deref().and_then(|p| std::fs::read_to_string(p).ok()).map(|t| file_stamp(&t));
        let writer = Arc::new(LiveWriter::new(
            &Checked { registry: Arc::clone(&registry), plugins: checked },
            Arc::clone(&plugins),
            WriterSetup {
                sources: self.sources,
                setup: self.settings.setup(),
                override_path: crate::rollout::overrides::path(
                    config_path.as_deref(),
                    &self.settings.host.data_dir,
                ),
                data_dir: self.settings.host.data_dir.clone(),
                stamp,
            },
        ));
        let reloader = Reloader::new(Arc::clone(&writer)).map(Arc::new);
        let served = Arc::new(Served::new(registry.manifests()));
        let collectors: Vec<Arc<dyn Collect>> = vec![
            Arc::clone(&ops) as Arc<dyn Collect>,
            Arc::clone(&writer) as Arc<dyn Collect>,
            Arc::clone(&served) as Arc<dyn Collect>,
            Arc::new(PluginSamples(Arc::clone(&plugins))),
        ];
        let endpoints = Arc::new(Endpoints {
            ops: Arc::clone(&ops),
            metrics,
            collectors,
            live: Arc::clone(writer.live()),
        });
        let watcher = Arc::new(Watcher {
            writer: Arc::clone(&writer),
            canary,
            clock: self.clock,
            epoch,
            registry: Arc::clone(&registry),
        });
        let status = Arc::new(StatusSource {
            writer: Arc::clone(&writer),
            served: Arc::clone(&served),
            registry: Arc::clone(&registry),
        });
        let dispatch = Arc::new(Dispatch {
            api: Arc::clone(&services) as Arc<dyn HostApi>,
            services,
            registry,
            plugins,
            live: Arc::clone(writer.live()),
            served,
        });
        let runtime = Arc::new(Runtime {
            dispatch,
            writer,
            ops,
            endpoints,
            watcher,
            status,
            data_dir: self.settings.host.data_dir.clone(),
            failures: std::sync::Mutex::new(Some(failures_rx)),
        });
        Ok(Host { runtime, bot, settings: self.settings, reloader })
    }
}

/// A host ready to serve.
pub struct Host {
    runtime: Arc<Runtime>,
    bot: Bot,
    settings: Settings,
    reloader: Option<Arc<Reloader>>,
}

impl Host {
    /// The built host (benchmarks and tests drive updates through it).
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Long-polls Telegram and serves updates until `shutdown` resolves; then
    /// stops polling and lets in-flight updates finish.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), RunError> {
        let Host { runtime, bot, settings, reloader } = self;
        let dispatch = Arc::clone(&runtime.dispatch);
        register_commands(&bot, &dispatch.registry).await;

        let sweeper = tokio::spawn(sweep(Arc::clone(&dispatch.services)));
        let status_path = runtime.data_dir.join(crate::rollout::status::STATUS_FILE);
        let status =
            tokio::spawn(crate::rollout::status::write_loop(Arc::clone(&runtime.status), status_path));
        let failures = runtime.failures.lock().unwrap_or_else(|p| p.into_inner()).take();
        let rollback = failures
            .map(|rx| tokio::spawn(crate::rollout::autorollback::watch(Arc::clone(&runtime.watcher), rx)));
        let (stop_watching, watching_stopped) = tokio::sync::oneshot::channel::<()>();
        let watcher = reloader.map(|r| {
            tokio::spawn(r.watch(async {
                let _ = watching_stopped.await;
            }))
        });
        let mut dispatcher = Dispatcher::builder(bot.clone(), handler())
            .dependencies(dptree::deps![Arc::clone(&dispatch)])
            .build();
        let poll_timeout = Duration::from_secs(u64::from(settings.telegram.poll_timeout_secs));
        let mut listener = polling(&bot, poll_timeout).await;
        // After the listener exists: /healthz turns ok at the probe's first answer,
        // so "ok" never precedes polling.
        let ops_tasks = crate::ops::start(Arc::clone(&runtime.endpoints), dispatch.services.telegram.clone());

        // Stop through the listener, not the dispatcher's ShutdownToken: the token
        // wakes the dispatcher with `Notify::notify_waiters`, which loses a shutdown
        // that arrives while the dispatcher is busy handing an update to a worker
        // (seen as a rare hang). The listener's stop flag is sticky; once polling
        // ends, the dispatcher drains its workers (in-flight updates finish) and returns.
        // The slot holds the current listener's token (a start that is retried makes a new one).
        let stop_slot = Arc::new(std::sync::Mutex::new(listener.stop_token()));
        let ops = Arc::clone(&runtime.ops);
        let slot = Arc::clone(&stop_slot);
        let stopper = tokio::spawn(async move {
            shutdown.await;
            ops.stopping();
            tracing::info!("shutting down: no new updates; finishing the ones in flight");
            slot.lock().unwrap_or_else(|p| p.into_inner()).stop();
        });
        let poll_errors = Arc::new(PollErrors {
            telegram: dispatch.services.telegram.clone(),
            ops: Arc::clone(&runtime.ops),
        });
        let mut attempt = 0;
        let result = loop {
            // It fails only at its first call (getMe), before taking any update: a
            // network blip at start is retried instead of ending the host.
            let result = dispatcher.try_dispatch_with_listener(listener, Arc::clone(&poll_errors)).await;
            let transient = matches!(
                &result,
                Err(RequestError::Network(_) | RequestError::Io(_) | RequestError::RetryAfter(_))
            );
            if !transient || attempt >= START_RETRIES || runtime.ops.is_stopping() {
                break result;
            }
            attempt += 1;
            let wait = Duration::from_millis(250 << attempt);
            if let Err(e) = &result {
                tracing::warn!(error = %e, attempt, wait_ms = wait.as_millis() as u64, "telegram did not answer getMe at start; retrying");
            }
            tokio::time::sleep(wait).await;
            listener = polling(&bot, poll_timeout).await;
            let mut current = stop_slot.lock().unwrap_or_else(|p| p.into_inner());
            *current = listener.stop_token();
            if runtime.ops.is_stopping() {
                current.stop();
            }
        };
        stopper.abort();
        for task in ops_tasks {
            task.abort();
        }
        sweeper.abort();
        status.abort();
        if let Some(r) = rollback {
            r.abort();
        }
        let _ = stop_watching.send(());
        if let Some(w) = watcher {
            let _ = w.await;
        }
        result.map_err(|e: RequestError| RunError::Unreachable(e.to_string()))?;
        tracing::info!("stopped");
        Ok(())
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
        tracing::error!(error = %error, "polling failed");
        self.telegram.metrics.api_error("getUpdates", crate::metrics::error_kind(&error));
        self.ops.reach.poll_failed();
        Box::pin(async {})
    }
}

fn handler() -> UpdateHandler<Infallible> {
    dptree::endpoint(|update: Update, dispatch: Arc<Dispatch>| async move {
        dispatch.handle_update(update).await;
        Ok(())
    })
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
        let Some(cutoff) = services.clock.now().checked_sub(KEEP_EXPIRED) else { continue };
        match services.state.purge_expired(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(purged = n, "swept long-expired dialogues"),
            Err(e) => tracing::warn!(error = %e, "state sweep failed"),
        }
    }
}

/// Builds the Bot API client from settings.
pub fn bot(settings: &Settings) -> Result<Bot, StartError> {
    let token = settings.token()?;
    Ok(Bot::new(token).set_api_url(settings.telegram.api_url.clone()))
}

/// Builds and runs a host: what `vox-host run` does.
pub async fn run(
    settings: Settings,
    bot: Bot,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let host = HostBuilder::new(settings).build(bot)?;
    host.run(shutdown).await?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM: what `vox-host run` stops on (polling ends,
/// updates in flight finish).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
