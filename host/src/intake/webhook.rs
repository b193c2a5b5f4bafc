//! Webhook mode's HTTP listener: Telegram POSTs each update to
//! `telegram.webhook.listen` + `path`. A request without the secret header is
//! refused with 401 and never reaches a handler; a delivery already taken is
//! acknowledged and dropped; an accepted update is queued for its chat and
//! answered 200 at once (after it is on disk with the SQLite store, in Redis
//! with the Redis one). While the queue is full or the host is stopping,
//! Telegram is answered 503 and delivers the update again later, so nothing it
//! was told we took is refused.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::dispatch::received::Received;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

use super::seen::Seen;
use super::shared::Accepted;
use super::{Handle, Queue, secret};
use crate::config::{ConfigError, Settings};
use crate::metrics::{Collect, Kind, Scraped};

/// The header Telegram sends the secret in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// What became of one request, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Queued for its chat (200).
    Accepted,
    /// Taken before: acknowledged, dropped (200).
    Duplicate,
    /// No or a wrong secret header (401).
    Unauthorized,
    /// The queue is full (503: Telegram delivers again).
    Busy,
    /// Shutting down (503: Telegram delivers again, maybe to another replica).
    Stopping,
    /// Not an update: logged and acknowledged (200), since
    /// delivering it again would not help.
    Unreadable,
    /// The shared queue (Redis) or the state store's inbox did not take it
    /// (503: Telegram delivers again).
    Unavailable,
}

const OUTCOMES: [Outcome; 7] = [
    Outcome::Accepted,
    Outcome::Duplicate,
    Outcome::Unauthorized,
    Outcome::Busy,
    Outcome::Stopping,
    Outcome::Unreadable,
    Outcome::Unavailable,
];

impl Outcome {
    /// The `outcome` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Duplicate => "duplicate",
            Outcome::Unauthorized => "unauthorized",
            Outcome::Busy => "busy",
            Outcome::Stopping => "stopping",
            Outcome::Unreadable => "unreadable",
            Outcome::Unavailable => "unavailable",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Outcome::Accepted | Outcome::Duplicate | Outcome::Unreadable => StatusCode::OK,
            Outcome::Unauthorized => StatusCode::UNAUTHORIZED,
            Outcome::Busy | Outcome::Stopping | Outcome::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// The webhook listener: bound at build (a taken port stops the start naming
/// the key), served by `app::serve`.
#[derive(Debug)]
pub struct Webhook {
    listener: std::sync::Mutex<Option<std::net::TcpListener>>,
    addr: SocketAddr,
    /// The path updates arrive on.
    pub path: String,
    /// The public URL given to `setWebhook`.
    pub url: String,
    /// The secret Telegram must send.
    pub secret: String,
    /// Telegram's `max_connections`.
    pub max_connections: u8,
    seen: Seen,
    stopping: AtomicBool,
    counts: [AtomicU64; OUTCOMES.len()],
}

impl Webhook {
    /// Binds `telegram.webhook.listen`.
    pub fn bind(settings: &Settings, bot_token: &str) -> Result<Self, ConfigError> {
        let w = &settings.telegram.webhook;
        let addr = w.address()?;
        let listener = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| ConfigError(format!("`telegram.webhook.listen`: cannot listen on {addr}: {e}")))?;
        let addr = listener.local_addr().unwrap_or(addr);
        Ok(Self {
            listener: std::sync::Mutex::new(Some(listener)),
            addr,
            path: w.path.clone(),
            url: w.url.trim().to_owned(),
            secret: secret::secret_token(&w.secret_token, bot_token),
            max_connections: w.max_connections,
            seen: Seen::default(),
            stopping: AtomicBool::new(false),
            counts: Default::default(),
        })
    }

    /// Where the listener is bound (the real port when `:0` was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests that ended `outcome` so far.
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.counts[outcome as usize].load(Ordering::Relaxed)
    }

    /// From now on deliveries are answered 503 (Telegram keeps them).
    pub fn stop_accepting(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// What one request becomes; accepted updates go to `queue`.
    pub async fn receive<H: Handle>(&self, queue: &Queue<H>, headers: &HeaderMap, body: &[u8]) -> Outcome {
        let outcome = self.decide(queue, headers, body).await;
        self.counts[outcome as usize].fetch_add(1, Ordering::Relaxed);
        outcome
    }

    async fn decide<H: Handle>(&self, queue: &Queue<H>, headers: &HeaderMap, body: &[u8]) -> Outcome {
        let given = headers.get(SECRET_HEADER).map_or(&b""[..], |v| v.as_bytes());
        if !secret::matches(&self.secret, given) {
            let refused = self.count(Outcome::Unauthorized);
            // The first refusal and then one in a thousand: a scanner must not flood the log.
            if refused.is_multiple_of(1000) {
                tracing::warn!(
                    refused = refused + 1,
                    header = !given.is_empty(),
                    "webhook request without the right secret token refused (401)"
                );
            }
            return Outcome::Unauthorized;
        }
        if self.stopping.load(Ordering::Relaxed) {
            return Outcome::Stopping;
        }
        let update = match Received::parse(body) {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(error = %e, bytes = body.len(), "webhook delivery is not an update; acknowledged and dropped");
                return Outcome::Unreadable;
            }
        };
        let id = update.id;
        let chats = match queue {
            Queue::Local(chats) => chats,
            Queue::Shared(shared) => {
                let chat = super::shared::chat_key(&update);
                // Kept as Telegram sent it: whichever replica takes it reads the same bytes.
                let text = String::from_utf8_lossy(body);
                return match shared.accept(id, chat, &text).await {
                    Ok(Accepted::New) => Outcome::Accepted,
                    Ok(Accepted::Duplicate) => {
                        tracing::info!(
                            update_id = id,
                            "Telegram delivered an update again; a replica took it before, dropped"
                        );
                        Outcome::Duplicate
                    }
                    Err(e) => {
                        tracing::warn!(update_id = id, error = %e, "cannot queue the update in Redis: Telegram answered 503 and will deliver again");
                        Outcome::Unavailable
                    }
                };
            }
        };
        if !self.seen.first_time(id) {
            tracing::info!(
                update_id = id,
                "Telegram delivered an update again; it was taken before, dropped"
            );
            return Outcome::Duplicate;
        }
        if let Some(inbox) = chats.inbox() {
            // On disk before the 200, so a killed process still has it at its next start.
            match inbox.keep(id, &String::from_utf8_lossy(body)).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!(
                        update_id = id,
                        "Telegram delivered an update again; it is kept already, dropped"
                    );
                    return Outcome::Duplicate;
                }
                Err(e) => {
                    self.seen.forget(id);
                    tracing::warn!(update_id = id, error = %e, "cannot keep the update in the state store: Telegram answered 503 and will deliver again");
                    return Outcome::Unavailable;
                }
            }
        }
        match chats.push(update) {
            Ok(()) => Outcome::Accepted,
            Err(_) => {
                self.seen.forget(id);
                if let Some(inbox) = chats.inbox() {
                    inbox.handled(id);
                }
                tracing::warn!(
                    update_id = id,
                    queued = chats.pending(),
                    "update queue full: Telegram answered 503 and will deliver again"
                );
                Outcome::Busy
            }
        }
    }

    /// Serves the listener until `stop` resolves (then lets requests in
    /// flight finish).
    pub async fn serve<H: Handle>(
        self: Arc<Self>,
        queue: Queue<H>,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let std_listener = self.listener.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(std_listener) = std_listener else {
            return Err(std::io::Error::other("the webhook listener was served already"));
        };
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        let path = self.path.clone();
        let app =
            Router::new()
                .route(
                    &path,
                    post(
                        |State((w, queue)): State<(Arc<Webhook>, Queue<H>)>,
                         headers: HeaderMap,
                         body: Bytes| async move {
                            w.receive(&queue, &headers, &body).await.status()
                        },
                    ),
                )
                .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
                .with_state((self, queue));
        axum::serve(listener, app).with_graceful_shutdown(stop).await
    }
}

impl Collect for Webhook {
    fn collect(&self, out: &mut Scraped) {
        for outcome in OUTCOMES {
            out.series(
                "vox_webhook_requests",
                "Webhook requests by what became of them (accepted, duplicate, unauthorized, busy, stopping, unreadable, unavailable)",
                Kind::Counter,
                &[("outcome", outcome.as_str())],
                self.count(outcome) as f64,
            );
        }
    }
}
