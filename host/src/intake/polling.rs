//! Long polling: `getUpdates` in a loop, each update read by [`received`] and
//! queued per chat in [`chats`] — one chat's updates in order, chats in
//! parallel, as in webhook mode. Failures are logged and counted, and the
//! next poll waits as teloxide's listener does (Telegram's `retry_after`, or
//! 1, 2, 4 … 64 s). The next batch is asked for only while the queues have
//! room. On stop, one last call with the next offset tells Telegram what was
//! taken, so the next start does not get it again; the queued updates finish.
//!
//! [`received`]: crate::dispatch::received
//! [`chats`]: super::chats

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use teloxide::RequestError;
use teloxide::payloads::GetUpdates;
use teloxide::types::AllowedUpdate;

use super::Handle;
use super::chats::Chats;
use crate::dispatch::received::{IdOnly, Received};
use crate::services::reach::Reachability;
use crate::services::telegram::Telegram;
use crate::services::telegram::wire::{self, Method};

/// Updates waiting for their chats' turn before polling pauses.
pub const QUEUED_MAX: usize = 1_000;
/// Updates asked for per poll (Telegram's maximum).
const BATCH: u8 = 100;
/// A long poll's time limit beyond the poll's own timeout.
const POLL_GRACE: Duration = Duration::from_secs(10);

/// The polling loop's parts.
pub struct Poller<H> {
    /// The Bot API client and its metrics.
    pub telegram: Telegram,
    /// Whether Telegram answers (polls report here).
    pub reach: Arc<Reachability>,
    /// The per-chat queues updates go to.
    pub chats: Arc<Chats<H>>,
    /// How long one poll waits for updates.
    pub timeout: Duration,
}

impl<H: Handle> Poller<H> {
    /// Polls until `stop` resolves, then confirms the last offset and waits
    /// for the queued updates to finish.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let mut offset: i32 = 0;
        let mut errors: u32 = 0;
        loop {
            let polled = tokio::select! {
                () = &mut stop => break,
                polled = self.poll(offset, self.timeout) => polled,
            };
            match polled {
                Ok(batch) => {
                    errors = 0;
                    self.reach.poll_answered();
                    for raw in batch {
                        let Some(update) = read(&raw) else { continue };
                        offset = offset.max(update.id as i32 + 1);
                        self.chats.push_waiting(update).await;
                    }
                }
                Err(e) => {
                    let wait = match &e {
                        RequestError::RetryAfter(after) => {
                            errors = 0;
                            after.duration()
                        }
                        _ => {
                            errors = errors.saturating_add(1);
                            Duration::from_secs(1 << (errors - 1).min(6))
                        }
                    };
                    self.failed(&e, wait);
                    tokio::select! {
                        () = &mut stop => break,
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
        if offset > 0 {
            // Telegram forgets what is below the offset only when it is asked with it.
            if let Err(e) = self.poll(offset, Duration::ZERO).await {
                tracing::warn!(error = %e, offset, "could not confirm the last updates taken; the next start may get them again");
            }
        }
        self.chats.idle().await;
    }

    /// One `getUpdates` from `offset`, waiting up to `timeout`.
    async fn poll(&self, offset: i32, timeout: Duration) -> Result<Vec<Box<RawValue>>, RequestError> {
        let mut payload = GetUpdates::new();
        payload.offset = Some(offset);
        payload.timeout = Some(timeout.as_secs() as u32);
        payload.limit = Some(if timeout.is_zero() { 1 } else { BATCH });
        payload.allowed_updates = Some(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        let body = wire::body(&payload);
        self.telegram.wire.call_within(Method::GetUpdates, body, Some(timeout + POLL_GRACE)).await
    }

    /// Logs and counts a failed poll.
    fn failed(&self, error: &RequestError, wait: Duration) {
        self.telegram.metrics.api_error("getUpdates", crate::metrics::error_kind(error));
        let wait_ms = wait.as_millis() as u64;
        if matches!(error, RequestError::Api(teloxide::ApiError::TerminatedByOtherGetUpdates)) {
            tracing::error!(
                error = %error,
                wait_ms,
                "another process is polling Telegram with this bot token (409 Conflict): the two take each \
                 other's updates. Run one polling process per token — stop the other one — or run replicas \
                 in webhook mode"
            );
            self.reach.poll_conflict();
        } else {
            tracing::error!(error = %error, wait_ms, "polling failed");
            self.reach.poll_failed();
        }
    }
}

/// One update of a batch; one that cannot be read is logged and stepped over.
fn read(raw: &RawValue) -> Option<Received> {
    match Received::parse(raw.get().as_bytes()) {
        Ok(update) => Some(update),
        Err(e) => {
            match serde_json::from_str::<IdOnly>(raw.get()) {
                Ok(IdOnly { update_id }) => {
                    tracing::error!(update_id, error = %e, "an update that cannot be read; skipped");
                    // Its id still moves the offset past it.
                    Some(Received { id: update_id, incoming: None })
                }
                Err(_) => {
                    tracing::error!(error = %e, bytes = raw.get().len(), "a polled item is not an update; skipped");
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).expect("json")
    }

    #[test]
    fn an_unreadable_update_is_stepped_over_by_its_id() {
        let update = read(&raw(r#"{"update_id":41,"message":{"chat":{"id":"seventy"}}}"#)).expect("its id");
        assert_eq!(update, Received { id: 41, incoming: None });
        assert_eq!(read(&raw("[1,2]")), None);
        let fine = r#"{"update_id":42,"message":{"message_id":1,"date":0,"chat":{"id":7,"type":"private"},"from":{"id":7,"is_bot":false,"first_name":"A"},"text":"hi"}}"#;
        assert_eq!(read(&raw(fine)).and_then(|u| u.incoming).map(|i| i.chat), Some(7));
    }
}
