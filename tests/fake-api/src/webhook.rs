//! Webhook delivery, as Telegram does it: once a bot called `setWebhook`, the
//! fake POSTs each pending update to the URL with the
//! `X-Telegram-Bot-Api-Secret-Token` header — up to `max_connections` at once
//! (default 40, as Telegram's), one chat's updates one at a time and oldest
//! first — and keeps it pending until the bot answers 2xx; a non-2xx answer
//! or a failed connection is retried after a pause (Telegram waits longer; a
//! test cannot). While a webhook is set, `getUpdates` is refused with 409, as
//! Telegram refuses it.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::shared::Shared;

/// The first pause after a failed delivery; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long one delivery may take before it counts as failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// A webhook a bot set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Where updates go (`http://` only: tests run on loopback).
    pub url: String,
    /// The secret sent in `X-Telegram-Bot-Api-Secret-Token`, if the bot set one.
    pub secret: Option<String>,
    /// Deliveries under way at most (`max_connections`, 1–100).
    pub max_connections: usize,
}

/// One delivery attempt, for tests to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The update delivered.
    pub update_id: i64,
    /// The HTTP status the bot answered, `None` when the connection failed.
    pub status: Option<u16>,
}

/// Delivers pending updates while a webhook is set, until the fake stops.
pub(crate) async fn deliver(shared: Arc<Shared>) {
    // Consecutive failures: the pause before the next attempt grows with them.
    let failures = Arc::new(std::sync::atomic::AtomicU32::new(0));
    loop {
        let next = {
            let mut world = shared.world();
            match world.webhook.clone() {
                Some(hook) => world.next_delivery(hook.max_connections).map(|u| (hook, u)),
                None => None,
            }
        };
        let Some((hook, (update_id, body))) = next else {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(2)) => continue,
                () = shared.stopped() => return,
            }
        };
        let (shared, failures) = (Arc::clone(&shared), Arc::clone(&failures));
        tokio::spawn(async move {
            let status =
                tokio::time::timeout(DELIVERY_TIMEOUT, post(&hook, &body)).await.ok().and_then(Result::ok);
            let delivered = status.is_some_and(|s| (200..300).contains(&s));
            if delivered {
                failures.store(0, std::sync::atomic::Ordering::Relaxed);
            } else {
                let n = failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed).min(6);
                tokio::time::sleep((FIRST_BACKOFF * 2u32.pow(n)).min(MAX_BACKOFF)).await;
            }
            let mut world = shared.world();
            world.deliveries.push(Delivery { update_id, status });
            // Confirmed only if the same webhook is still set (a deleteWebhook in between keeps it pending).
            let confirmed = delivered && world.webhook.as_ref() == Some(&hook);
            world.delivery_done(update_id, confirmed);
        });
    }
}

/// `POST` the update as JSON; the answer's status code.
async fn post(hook: &Webhook, body: &Value) -> std::io::Result<u16> {
    let invalid =
        || std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("not an http:// URL: {}", hook.url));
    let rest = hook.url.strip_prefix("http://").ok_or_else(invalid)?;
    let (authority, path) =
        rest.split_once('/').map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let mut stream = TcpStream::connect(authority).await?;
    let json = body.to_string();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        json.len()
    );
    if let Some(secret) = &hook.secret {
        request.push_str(&format!("X-Telegram-Bot-Api-Secret-Token: {secret}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&json);
    stream.write_all(request.as_bytes()).await?;
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < 12 {
        match stream.read(&mut head[read..]).await? {
            0 => break,
            n => read += n,
        }
    }
    let line = String::from_utf8_lossy(&head[..read]).into_owned();
    line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not an HTTP answer: {line:?}"))
    })
}
