//! # The operator's endpoints
//!
//! HTTP on `[ops] listen`: `/healthz` (is the bot serving?) and `/metrics`
//! (Prometheus text: the live families plus every subsystem's collector, as the
//! composition root registered them), the `getMe` probe behind `/healthz`'s
//! "Telegram unreachable", the event-loop lag probe, and [`logging`].

pub mod logging;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use teloxide::prelude::Requester;

use crate::config::Settings;
use crate::error::StartError;
use crate::metrics::{Collect, Kind, Metrics, Scraped};
use crate::rollout::live::Live;
use crate::services::reach::Reachability;
use crate::services::state::StateStore;
use crate::services::telegram::Telegram;

/// The endpoints' own state.
pub struct Ops {
    /// Telegram's reachability (shared with the services that see polls and updates).
    pub reach: Arc<Reachability>,
    started: Instant,
    /// Wall-clock start, for `process_start_time_seconds`.
    pub started_at: SystemTime,
    unreachable_after: Duration,
    probe_every: Duration,
    stopping: AtomicBool,
    listener: std::sync::Mutex<Option<std::net::TcpListener>>,
    addr: Option<SocketAddr>,
    state: std::sync::OnceLock<Arc<dyn StateStore>>,
    state_unavailable_after: Duration,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops")
            .field("addr", &self.addr)
            .field("health", &self.health())
            .finish_non_exhaustive()
    }
}

/// What `/healthz` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Polling works.
    Ok,
    /// Not polling yet (Telegram not answered since start).
    Starting,
    /// Telegram has not answered for longer than the threshold.
    TelegramUnreachable,
    /// Telegram answers our long polls with 409 Conflict: another process
    /// polls with this token, and the two steal each other's updates.
    AnotherInstancePolling,
    /// The state store (Redis) has not answered for longer than its threshold:
    /// updates wait instead of being served without their dialogues.
    StateStoreUnavailable,
    /// Shutting down: no new updates are taken.
    Stopping,
}

impl Health {
    /// The `status` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Starting => "starting",
            Health::TelegramUnreachable => "telegram_unreachable",
            Health::AnotherInstancePolling => "another_instance_polling",
            Health::StateStoreUnavailable => "state_store_unavailable",
            Health::Stopping => "stopping",
        }
    }
}

impl Ops {
    /// Binds the listener now, so a taken port stops the start with the key named.
    pub fn bind(settings: &Settings) -> Result<Self, StartError> {
        let ops = &settings.ops;
        let listener = match ops.address()? {
            None => None,
            Some(addr) => {
                let l = std::net::TcpListener::bind(addr).map_err(|e| {
                    crate::config::ConfigError(format!("`ops.listen`: cannot listen on {addr}: {e}"))
                })?;
                l.set_nonblocking(true).map_err(|e| {
                    crate::config::ConfigError(format!("`ops.listen`: cannot use {addr}: {e}"))
                })?;
                Some(l)
            }
        };
        let addr = listener.as_ref().and_then(|l| l.local_addr().ok());
        let probe_every = Duration::from_secs(u64::from(ops.probe_every_secs));
        let poll_timeout = Duration::from_secs(u64::from(settings.telegram.poll_timeout_secs));
        Ok(Self {
            reach: Arc::new(Reachability::new(probe_every, poll_timeout)),
            started: Instant::now(),
            started_at: SystemTime::now(),
            unreachable_after: Duration::from_secs(u64::from(ops.unreachable_after_secs)),
            probe_every,
            stopping: AtomicBool::new(false),
            listener: std::sync::Mutex::new(listener),
            addr,
            state: std::sync::OnceLock::new(),
            state_unavailable_after: Duration::from_secs(u64::from(settings.redis.unavailable_after_secs)),
        })
    }

    /// Where the endpoints listen (the real port when `:0` was asked), if on.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Seconds since start.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// What `/healthz` says now.
    pub fn health(&self) -> Health {
        if self.stopping.load(Ordering::Relaxed) {
            Health::Stopping
        } else if !self.reach.is_ready() {
            Health::Starting
        } else if self.state_unavailable().is_some_and(|d| d > self.state_unavailable_after) {
            Health::StateStoreUnavailable
        } else if self.reach.another_poller() {
            Health::AnotherInstancePolling
        } else if self.reach.failing_for().is_some_and(|d| d > self.unreachable_after) {
            Health::TelegramUnreachable
        } else {
            Health::Ok
        }
    }

    /// `/healthz` also watches `state` (a store that can stop answering).
    pub fn watch_state(&self, state: Arc<dyn StateStore>) {
        let _ = self.state.set(state);
    }

    /// How long the state store has not answered, if it does not.
    pub fn state_unavailable(&self) -> Option<Duration> {
        self.state.get().and_then(|s| s.unavailable_for())
    }

    /// Shutdown began.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Whether shutdown began.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }
}

/// What the endpoints read, handed over by the composition root.
pub struct Endpoints {
    /// Health, uptime, the listener.
    pub ops: Arc<Ops>,
    /// The families the update path feeds.
    pub metrics: Arc<Metrics>,
    /// Every subsystem's figures read at scrape time.
    pub collectors: Vec<Arc<dyn Collect>>,
    /// The live config (its generation is on `/healthz`).
    pub live: Live,
}

/// `/healthz`: 200 when serving, 503 otherwise, with the facts as JSON.
pub fn healthz(e: &Endpoints) -> (StatusCode, Json<serde_json::Value>) {
    let ops = &e.ops;
    let health = ops.health();
    let body = serde_json::json!({
        "status": health.as_str(),
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": ops.uptime().as_secs(),
        "generation": e.live.load().generation,
        "telegram_failing_secs": ops.reach.failing_for().map(|d| d.as_secs()),
        "state_store_failing_secs": ops.state_unavailable().map(|d| d.as_secs()),
    });
    let status = if health == Health::Ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body))
}

async fn metrics(State(e): State<Arc<Endpoints>>) -> Response {
    // Reading /proc and walking every series is blocking work.
    match tokio::task::spawn_blocking(move || crate::metrics::render(&e.metrics, &e.collectors)).await {
        Ok(Ok(text)) => {
            ([(header::CONTENT_TYPE, prometheus_client::encoding::prometheus_text::CONTENT_TYPE)], text)
                .into_response()
        }
        Ok(Err(e)) => {
            (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot encode metrics: {e}\n")).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("metrics task failed: {e}\n")).into_response(),
    }
}

fn router(endpoints: Arc<Endpoints>) -> Router {
    Router::new()
        .route("/healthz", get(|State(e): State<Arc<Endpoints>>| async move { healthz(&e) }))
        .route("/metrics", get(metrics))
        .route("/", get(|| async { "vox-host: GET /healthz, GET /metrics\n" }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found: try /healthz or /metrics\n") })
        .with_state(endpoints)
}

/// Starts the endpoints (if on), the `getMe` probe over `telegram` and the
/// event-loop lag probe; abort the handles to stop them.
pub fn start(endpoints: Arc<Endpoints>, telegram: Telegram) -> Vec<tokio::task::JoinHandle<()>> {
    let ops = Arc::clone(&endpoints.ops);
    let mut tasks = vec![
        tokio::spawn(probe(Arc::clone(&ops), telegram)),
        tokio::spawn(crate::metrics::watch_event_loop(Arc::clone(&endpoints.metrics))),
    ];
    let listener = ops.listener.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(std_listener) = listener {
        match tokio::net::TcpListener::from_std(std_listener) {
            Ok(listener) => {
                if let Some(addr) = ops.addr {
                    tracing::info!(%addr, "ops endpoints: /healthz, /metrics");
                }
                let app = router(endpoints);
                tasks.push(tokio::spawn(async move {
                    if let Err(e) = axum::serve(listener, app).await {
                        tracing::error!(error = %e, "ops endpoints stopped");
                    }
                }));
            }
            Err(e) => tracing::error!(error = %e, "ops endpoints could not start"),
        }
    }
    tasks
}

impl Collect for Ops {
    fn collect(&self, out: &mut Scraped) {
        out.series(
            "vox_build_info",
            "The running binary's version (value 1)",
            Kind::Gauge,
            &[("version", env!("CARGO_PKG_VERSION"))],
            1.0,
        );
        out.one(
            "vox_uptime_seconds",
            "Seconds since the host started",
            Kind::Gauge,
            self.uptime().as_secs_f64(),
        );
        out.one(
            "vox_telegram_poll_conflicts",
            "Long polls Telegram answered with 409 Conflict: another process polls with this token",
            Kind::Counter,
            self.reach.conflicts() as f64,
        );
        let failing = self.reach.failing_for();
        out.one(
            "vox_telegram_reachable",
            "1 while the Bot API answers (getMe probe and long polls), 0 while it fails",
            Kind::Gauge,
            if failing.is_none() { 1.0 } else { 0.0 },
        );
        out.one(
            "vox_telegram_failing_seconds",
            "How long the Bot API has been failing (0 when it answers)",
            Kind::Gauge,
            failing.map_or(0.0, |d| d.as_secs_f64()),
        );
        let proc = crate::metrics::process::ProcessStats::read();
        let start = self.started_at.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).ok();
        let gauge = |b: Option<u64>| b.map(|b| b as f64);
        out.maybe(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            Kind::Gauge,
            gauge(proc.resident_bytes),
        );
        out.maybe(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes",
            Kind::Gauge,
            gauge(proc.virtual_bytes),
        );
        out.maybe(
            "process_cpu_seconds",
            "User and system CPU time spent, seconds",
            Kind::Counter,
            proc.cpu_seconds,
        );
        out.maybe("process_open_fds", "Open file descriptors", Kind::Gauge, gauge(proc.open_fds));
        out.maybe("process_threads", "OS threads", Kind::Gauge, gauge(proc.threads));
        out.maybe(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, seconds",
            Kind::Gauge,
            start,
        );
    }
}

/// Asks Telegram `getMe` every `probe_every`: the only way to know it answers
/// while no updates arrive.
async fn probe(ops: Arc<Ops>, telegram: Telegram) {
    let metrics = &telegram.metrics;
    let bot = &telegram.bot;
    let timeout = ops.probe_every.max(Duration::from_secs(5));
    let mut tick = tokio::time::interval(ops.probe_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let asked = Instant::now();
        let result = tokio::time::timeout(timeout, bot.get_me()).await;
        let took = asked.elapsed();
        match result {
            Ok(Ok(_)) => {
                metrics.api_call("getMe", took, None);
                if !ops.reach.is_ready() {
                    tracing::info!("telegram answers: healthy");
                }
                ops.reach.probe_ok();
            }
            Ok(Err(e)) => {
                metrics.api_call("getMe", took, Some(crate::metrics::error_kind(&e)));
                tracing::warn!(error = %e, "telegram probe (getMe) failed");
                ops.reach.probe_failed();
            }
            Err(_) => {
                metrics.api_call("getMe", took, Some("timeout"));
                tracing::warn!(timeout_s = timeout.as_secs(), "telegram probe (getMe) timed out");
                ops.reach.probe_failed();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(env: &[(&str, &str)]) -> Ops {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        let settings = Settings::load(None, env).expect("settings");
        Ops::bind(&settings).expect("binds")
    }

    #[test]
    fn health_is_starting_until_telegram_answers_then_ok_then_stopping() {
        let ops = ops(&[("VOX__OPS__LISTEN", "")]);
        assert_eq!(ops.addr(), None, "empty listen turns the endpoints off");
        assert_eq!(ops.health(), Health::Starting);
        ops.reach.probe_ok();
        assert_eq!(ops.health(), Health::Ok);
        // A failure shorter than the threshold is not yet "unreachable".
        ops.reach.probe_failed();
        assert_eq!(ops.health(), Health::Ok);
        ops.stopping();
        assert_eq!(ops.health(), Health::Stopping);
    }

    #[test]
    fn a_taken_port_refuses_the_start_naming_the_key() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = taken.local_addr().expect("addr").to_string();
        let env = [("VOX__OPS__LISTEN".to_owned(), addr)];
        let settings = Settings::load(None, env).expect("settings");
        let err = Ops::bind(&settings).expect_err("port in use").to_string();
        assert!(err.contains("`ops.listen`"), "{err}");
        let free = ops(&[("VOX__OPS__LISTEN", "127.0.0.1:0")]);
        assert!(free.addr().is_some_and(|a| a.port() != 0), "the real port is known");
    }
}
