//! # The composition root
//!
//! Builds every owner from config — the plugins, the live config's writer, the
//! services, the per-update [`Dispatch`], the operator's endpoints —, registers
//! each subsystem's metrics collector, wires the update path into the intake's
//! per-chat queues (updates of one chat in order, chats in parallel) and spawns
//! every background task. The only module that knows all the others.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use teloxide::Bot;
use tokio::sync::mpsc;
use vox_plugin::Clock;
use vox_plugin::host::HostApi;

use crate::config::{Settings, Sources, StateBackend, UpdateMode};
use crate::dispatch::Dispatch;
use crate::error::{Error, StartError};
use crate::intake::chats::Chats;
use crate::intake::shared::SharedQueue;
use crate::intake::webhook::Webhook;
use crate::intake::{Intake, Queue};
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
use crate::services::locks::Locks;
use crate::services::state::redis::Owners;
use crate::services::state::sqlite::Inbox;
use crate::services::state::{MemoryStore, RedisStore, SqliteStore, StateStore};
use crate::services::telegram::Telegram;
use crate::services::throttle::Throttle;
use crate::services::tracker::Tracker;

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
    /// The Redis store, when state is shared (its connection serves the served counts too).
    redis: Option<Shared>,
    served: Arc<Served>,
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

/// The Redis store, when state is shared.
type Shared = Arc<RedisStore>;

/// What [`open_state`] opened.
struct OpenedState {
    store: Arc<dyn StateStore>,
    /// The Redis store, for what else shares it.
    redis: Option<Shared>,
    /// The SQLite store's inbox, for webhook mode's accepted updates.
    inbox: Option<Inbox>,
}

/// The configured state store, opened (a file's dialogues loaded) for
/// `registry`.
fn open_state(settings: &Settings, registry: &Arc<Registry>) -> Result<OpenedState, StartError> {
    Ok(match settings.state.backend {
        StateBackend::Memory => {
            OpenedState { store: Arc::new(MemoryStore::default()), redis: None, inbox: None }
        }
        StateBackend::Sqlite => {
            let resolve = |p: &str, v: Option<&str>, s: &str| registry.step_owner(p, v, s);
            let store = Arc::new(
                SqliteStore::open(&settings.state_path(), &resolve)
                    .map_err(|e| StartError::State(e.to_string()))?,
            );
            OpenedState {
                store: Arc::clone(&store) as Arc<dyn StateStore>,
                redis: None,
                inbox: Some(Inbox::new(store)),
            }
        }
        StateBackend::Redis => {
            let registry = Arc::clone(registry);
            let owners: Owners =
                Arc::new(move |p: &str, v: Option<&str>, s: &str| registry.step_owner(p, v, s));
            let redis = &settings.redis;
            let store = Arc::new(
                RedisStore::open(redis.url.trim(), &redis.prefix, owners)
                    .map_err(|e| StartError::Config(crate::config::ConfigError(e.0)))?,
            );
            OpenedState { store: Arc::clone(&store) as Arc<dyn StateStore>, redis: Some(store), inbox: None }
        }
    })
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

    /// Validates the registry and builds every plugin; the bot is not contacted
    /// yet. Call it inside a Tokio runtime (the Redis backend starts its
    /// connection manager there).
    pub fn build(self, bot: Bot) -> Result<Host, StartError> {
        let Loaded { registry, checked, plugins } =
            plugins::load(&plugins::linked(), &self.settings.plugins, &self.settings.setup())?;
        let plugins: Arc<[LoadedPlugin]> = plugins.into();
        let ops = Arc::new(Ops::bind(&self.settings)?);
        let webhook = match self.settings.telegram.mode {
            UpdateMode::Polling => None,
            UpdateMode::Webhook => Some(Arc::new(Webhook::bind(&self.settings, bot.token())?)),
        };
        let metrics = Arc::new(Metrics::default());
        let OpenedState { store: state, redis, inbox } = match self.state {
            Some(store) => OpenedState { store, redis: None, inbox: None },
            None => open_state(&self.settings, &registry)?,
        };
        ops.watch_state(Arc::clone(&state));
        let canary = Arc::new(Canary::new(registry.manifests()));
        let throttle = Arc::new(Throttle::new(self.settings.telegram.throttle));
        let (failures_tx, failures_rx) = mpsc::channel(FAILURE_CHECKS);
        let epoch = self.clock.now();
        let services = Arc::new(Services {
            telegram: Telegram {
                bot: bot.clone(),
                metrics: Arc::clone(&metrics),
                home: registry.home(),
                throttle: Arc::clone(&throttle),
                wire: crate::services::telegram::wire::Wire::new(&bot),
            },
            metrics: Arc::clone(&metrics),
            registry: Arc::clone(&registry),
            state,
            tracker: Tracker::default(),
            locks: match &redis {
                Some(redis) => Locks::shared(Arc::clone(redis)),
                None => Locks::default(),
            },
            clock: self.clock.clone(),
            canary: Arc::clone(&canary),
            reach: Arc::clone(&ops.reach),
            failures: failures_tx,
            epoch,
        });
        let config_path = self.sources.as_ref().and_then(|s| s.file.clone());
        let stamp =
            config_path.as_deref().and_then(|p| std::fs::read_to_string(p).ok()).map(|t| file_stamp(&t));
        let overrides = crate::rollout::overrides::Source::configured(&self.settings, config_path.as_deref())
            .map_err(|e| StartError::Config(crate::config::ConfigError(e)))?;
        let writer = Arc::new(LiveWriter::new(
            &Checked { registry: Arc::clone(&registry), plugins: checked },
            Arc::clone(&plugins),
            WriterSetup {
                sources: self.sources,
                setup: self.settings.setup(),
                overrides,
                data_dir: self.settings.host.data_dir.clone(),
                stamp,
            },
        ));
        let reloader = Reloader::new(Arc::clone(&writer)).map(Arc::new);
        let served = Arc::new(Served::new(registry.manifests()));
        let mut collectors: Vec<Arc<dyn Collect>> = vec![
            Arc::clone(&ops) as Arc<dyn Collect>,
            Arc::clone(&services.state) as Arc<dyn Collect>,
            Arc::clone(&throttle) as Arc<dyn Collect>,
            Arc::clone(&writer) as Arc<dyn Collect>,
            Arc::clone(&served) as Arc<dyn Collect>,
            Arc::new(PluginSamples(Arc::clone(&plugins))),
            Arc::new(crate::ops::logging::otlp::TraceExport),
        ];
        let dispatch = Arc::new(Dispatch {
            api: Arc::clone(&services) as Arc<dyn HostApi>,
            services,
            registry: Arc::clone(&registry),
            plugins,
            live: Arc::clone(writer.live()),
            served: Arc::clone(&served),
        });
        let shared_redis = redis.clone();
        let intake = webhook.map(|webhook| Intake {
            queue: match &redis {
                Some(redis) => Queue::Shared(SharedQueue::new(Arc::clone(redis))),
                None => {
                    let capacity = self.settings.telegram.webhook.queue;
                    Queue::Local(match inbox {
                        Some(inbox) => Chats::durable(Arc::clone(&dispatch), capacity, inbox),
                        None => Chats::new(Arc::clone(&dispatch), capacity),
                    })
                }
            },
            webhook,
        });
        let way = match intake {
            Some(intake) => {
                collectors.push(Arc::clone(&intake.webhook) as Arc<dyn Collect>);
                collectors.push(match &intake.queue {
                    Queue::Local(chats) => Arc::clone(chats) as Arc<dyn Collect>,
                    Queue::Shared(shared) => Arc::clone(shared) as Arc<dyn Collect>,
                });
                Way::Webhook(intake)
            }
            None => {
                // Made here, not when polling starts: /metrics shows their depth.
                let chats = Chats::new(Arc::clone(&dispatch), crate::intake::polling::QUEUED_MAX);
                collectors.push(Arc::clone(&chats) as Arc<dyn Collect>);
                Way::Polling(chats)
            }
        };
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
            shared: redis.as_ref().map(|r| (r.connection(), r.prefix().to_owned())),
        });
        if redis.is_some() {
            watcher.canary.share();
        }
        let status = Arc::new(StatusSource {
            writer: Arc::clone(&writer),
            served: Arc::clone(&served),
            registry: Arc::clone(&registry),
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
            redis: shared_redis,
            served,
        });
        Ok(Host { runtime, bot, settings: self.settings, reloader, way })
    }
}

/// A host ready to serve.
pub struct Host {
    runtime: Arc<Runtime>,
    bot: Bot,
    settings: Settings,
    reloader: Option<Arc<Reloader>>,
    /// How updates come in.
    way: Way,
}

/// How updates come in: polled into per-chat queues, or delivered to the webhook.
enum Way {
    /// Long polling, into these queues.
    Polling(Arc<Chats<Dispatch>>),
    /// Webhook mode's listener and queues.
    Webhook(Intake),
}

mod serve;
mod started;
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
