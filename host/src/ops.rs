//! The operator's HTTP endpoints on `[ops] listen`: `/healthz` (is the bot
//! serving?) and `/metrics` (Prometheus text), plus the `getMe` probe behind
//! `/healthz`'s "Telegram unreachable".

pub mod reach;

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
use crate::runtime::Runtime;
use reach::Reachability;

/// The endpoints' state, kept in the [`Runtime`].
#[derive(Debug)]
pub struct Ops {
    /// Telegram's reachability.
    pub reach: Reachability,
    started: Instant,
    /// Wall-clock start, for `process_start_time_seconds`.
    pub started_at: SystemTime,
    unreachable_after: Duration,
    probe_every: Duration,
    stopping: AtomicBool,
    listener: std::sync::Mutex<Option<std::net::TcpListener>>,
    addr: Option<SocketAddr>,
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
            reach: Reachability::new(probe_every, poll_timeout),
            started: Instant::now(),
            started_at: SystemTime::now(),
            unreachable_after: Duration::from_secs(u64::from(ops.unreachable_after_secs)),
            probe_every,
            stopping: AtomicBool::new(false),
            listener: std::sync::Mutex::new(listener),
            addr,
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
        } else if self.reach.failing_for().is_some_and(|d| d > self.unreachable_after) {
            Health::TelegramUnreachable
        } else {
            Health::Ok
        }
    }

    /// Shutdown began.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }
}

/// `/healthz`: 200 when serving, 503 otherwise, with the facts as JSON.
pub fn healthz(runtime: &Runtime) -> (StatusCode, Json<serde_json::Value>) {
    let ops = &runtime.ops;
    let health = ops.health();
    let body = serde_json::json!({
        "status": health.as_str(),
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": ops.uptime().as_secs(),
        "generation": runtime.live().generation,
        "telegram_failing_secs": ops.reach.failing_for().map(|d| d.as_secs()),
    });
    let status = if health == Health::Ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body))
}

async fn metrics(State(runtime): State<Arc<Runtime>>) -> Response {
    // Reading /proc and walking every series is blocking work.
    match tokio::task::spawn_blocking(move || crate::metrics::render(&runtime)).await {
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

fn router(runtime: Arc<Runtime>) -> Router {
    Router::new()
        .route("/healthz", get(|State(rt): State<Arc<Runtime>>| async move { healthz(&rt) }))
        .route("/metrics", get(metrics))
        .route("/", get(|| async { "vox-host: GET /healthz, GET /metrics\n" }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found: try /healthz or /metrics\n") })
        .with_state(runtime)
}

/// Starts the endpoints (if on), the `getMe` probe and the event-loop lag
/// probe; abort the handles to stop them.
pub fn start(runtime: &Arc<Runtime>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = vec![
        tokio::spawn(probe(Arc::clone(runtime))),
        tokio::spawn(crate::metrics::watch_event_loop(Arc::clone(&runtime.services.metrics))),
    ];
    let listener = runtime.ops.listener.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(std_listener) = listener {
        match tokio::net::TcpListener::from_std(std_listener) {
            Ok(listener) => {
                if let Some(addr) = runtime.ops.addr {
                    tracing::info!(%addr, "ops endpoints: /healthz, /metrics");
                }
                let app = router(Arc::clone(runtime));
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

/// Asks Telegram `getMe` every `probe_every`: the only way to know it answers
/// while no updates arrive.
async fn probe(runtime: Arc<Runtime>) {
    let ops = &runtime.ops;
    let metrics = &runtime.services.metrics;
    let bot = &runtime.services.telegram.bot;
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
