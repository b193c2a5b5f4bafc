//! Webhook mode across replicas: accepted updates wait in Redis, one queue
//! per chat, and whichever replica leases a chat handles its updates one at a
//! time in `update_id` order — the chat's lease is the fencing token of every
//! state write the handling makes. Chosen over a chat-keyed lock: a lock
//! orders the replicas that ask for it, not the updates, so update 11 on one
//! replica could overtake update 10 on another; a queue in Redis sorted by
//! `update_id` cannot, and it also keeps what Telegram was told we took when
//! the replica that took it dies (its lease runs out and another replica
//! goes on with the chat).
//!
//! Keys under the state store's prefix: `seen:<update_id>` (a day: Telegram's
//! retry window), `q:<chat>` (sorted by update id), `ready` (chats waiting
//! for a replica) and `readyat` (when each was offered), `lease:<chat>` (its holder's token, a few
//! seconds, renewed while handling), `fence:<chat>` (the newest token),
//! `chats` (chats with queued updates, for the sweep that re-offers a chat
//! whose holder died). Every step is one script, so no two replicas ever see
//! a chat half-moved.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Script};
use tokio::sync::Semaphore;

mod scripts;

use scripts::{ACCEPT, DONE, RELEASE, SWEEP, TAKE};

use super::Handle;
use crate::dispatch::received::Received;
use crate::metrics::{Collect, Kind, Scraped};
use crate::services::state::redis::RENEW_LEASE;
use crate::services::state::{RedisStore, fence};

/// How long a lease holds without renewal: a dead replica's chats wait this long.
pub const LEASE: Duration = Duration::from_secs(5);
/// How often a held lease is renewed while its update is handled.
const RENEW_EVERY: Duration = Duration::from_secs(1);
/// How long a delivery's `update_id` is remembered (Telegram retries for a day).
const SEEN_FOR: Duration = Duration::from_secs(24 * 3600);
/// Chats one replica handles at once at most.
const CHATS_AT_ONCE: usize = 256;
/// How often the sweep re-offers chats whose holder died.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// What became of a delivery offered to the shared queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Queued for its chat.
    New,
    /// Taken before (by any replica).
    Duplicate,
}

/// The shared per-chat queues in Redis.
pub struct SharedQueue {
    store: Arc<RedisStore>,
    conn: ConnectionManager,
    client: redis::Client,
    prefix: String,
    scripts: Scripts,
    stopping: AtomicBool,
    busy: Arc<Semaphore>,
    handled: AtomicU64,
    lost_leases: AtomicU64,
    reoffered: AtomicU64,
}

struct Scripts {
    accept: Script,
    take: Script,
    done: Script,
    renew: Script,
    release: Script,
    sweep: Script,
}

/// A Redis failure, as text for the log.
#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct QueueError(#[from] redis::RedisError);

fn now_ms() -> i64 {
    crate::services::state::unix_ms(std::time::SystemTime::now())
}

/// The chat key updates are ordered by (see `chats`); updates with neither a
/// chat nor a user share key 0.
pub fn chat_key(update: &Received) -> i64 {
    update.chat_key().unwrap_or(0)
}

impl SharedQueue {
    /// Queues over the state store's Redis, under its prefix (what Redis
    /// answers is counted by the store, for `/healthz`).
    pub fn new(store: Arc<RedisStore>) -> Arc<Self> {
        Arc::new(Self {
            conn: store.connection(),
            client: store.client(),
            prefix: store.prefix().to_owned(),
            store,
            scripts: Scripts {
                accept: Script::new(ACCEPT),
                take: Script::new(TAKE),
                done: Script::new(DONE),
                renew: Script::new(RENEW_LEASE),
                release: Script::new(RELEASE),
                sweep: Script::new(SWEEP),
            },
            stopping: AtomicBool::new(false),
            busy: Arc::new(Semaphore::new(CHATS_AT_ONCE)),
            handled: AtomicU64::new(0),
            lost_leases: AtomicU64::new(0),
            reoffered: AtomicU64::new(0),
        })
    }

    fn key(&self, what: &str) -> String {
        format!("{}{what}", self.prefix)
    }

    fn chat_keyed(&self, what: &str, chat: i64) -> String {
        format!("{}{what}:{chat}", self.prefix)
    }

    /// Queues `body` (the update's JSON, as Telegram sent it) unless its id was
    /// taken before; only after this returns may Telegram be told 200.
    pub async fn accept(&self, update_id: u32, chat: i64, body: &str) -> Result<Accepted, QueueError> {
        let mut conn = self.conn.clone();
        let queued: redis::RedisResult<i64> = self
            .scripts
            .accept
            .key(self.key(&format!("seen:{update_id}")))
            .key(self.chat_keyed("q", chat))
            .key(self.key("ready"))
            .key(self.key("readyat"))
            .key(self.chat_keyed("lease", chat))
            .key(self.key("chats"))
            .arg(chat)
            .arg(update_id)
            .arg(body)
            .arg(SEEN_FOR.as_secs())
            .arg(now_ms())
            .invoke_async(&mut conn)
            .await;
        self.store.observe(&queued);
        let queued = queued?;
        Ok(if queued == 1 { Accepted::New } else { Accepted::Duplicate })
    }

    /// Takes ready chats and handles them until [`SharedQueue::stop`]; then
    /// finishes the updates in hand and hands their chats on.
    pub async fn run<H: Handle>(self: Arc<Self>, handler: Arc<H>) {
        let sweeper = tokio::spawn(Arc::clone(&self).sweep_loop());
        let mut taker: Option<MultiplexedConnection> = None;
        let mut backoff = Duration::from_millis(100);
        while !self.stopping.load(Ordering::Relaxed) {
            let Ok(permit) = Arc::clone(&self.busy).acquire_owned().await else { break };
            if taker.is_none() {
                // Its own connection: BLPOP blocks the connection it runs on.
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_response_timeout(Some(Duration::from_secs(3)));
                match self.client.get_multiplexed_async_connection_with_config(&config).await {
                    Ok(c) => taker = Some(c),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot reach Redis to take chats; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                        continue;
                    }
                }
            }
            let Some(conn) = taker.as_mut() else { continue };
            let popped: redis::RedisResult<Option<(String, i64)>> =
                redis::cmd("BLPOP").arg(self.key("ready")).arg(1.0).query_async(conn).await;
            let chat = match popped {
                Ok(Some((_, chat))) => chat,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "taking a ready chat from Redis failed; reconnecting");
                    taker = None;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            match self.take(chat).await {
                Ok(Some((token, head))) => {
                    let queue = Arc::clone(&self);
                    let handler = Arc::clone(&handler);
                    tokio::spawn(async move {
                        queue.drain(handler, chat, token, head).await;
                        drop(permit);
                    });
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(chat, error = %e, "leasing a chat failed; the sweep offers it again")
                }
            }
        }
        // Wait for every chat in hand (each holds a permit) to be handed on.
        let _ = self.busy.acquire_many(CHATS_AT_ONCE as u32).await;
        sweeper.abort();
    }

    /// From now on no chat is taken; the ones in hand finish their current update.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    async fn take(&self, chat: i64) -> Result<Option<(u64, String)>, QueueError> {
        let mut conn = self.conn.clone();
        let taken: Option<(u64, String)> = self
            .scripts
            .take
            .key(self.key("readyat"))
            .key(self.chat_keyed("lease", chat))
            .key(self.chat_keyed("fence", chat))
            .key(self.chat_keyed("q", chat))
            .arg(chat)
            .arg(LEASE.as_millis() as u64)
            .invoke_async(&mut conn)
            .await?;
        Ok(taken)
    }

    /// Handles the chat's updates from `head` on while the lease holds.
    async fn drain<H: Handle>(&self, handler: Arc<H>, chat: i64, token: u64, head: String) {
        let mut body = head;
        loop {
            match Received::parse(body.as_bytes()) {
                Ok(update) => {
                    let id = update.id;
                    // The handler is never cut short (a report write may be under
                    // way): when the lease is lost it finishes, its writes fenced.
                    let renewing = async {
                        self.renew_while(chat, token).await;
                        tracing::warn!(
                            chat,
                            update_id = id,
                            "lost the chat's lease while handling; another replica goes on with it"
                        );
                        std::future::pending::<()>().await;
                    };
                    tokio::select! {
                        () = fence::fenced(token, handler.handle(update)) => {}
                        () = renewing => {}
                    }
                }
                Err(e) => tracing::error!(chat, error = %e, "queued update is not readable; dropped"),
            }
            self.handled.fetch_add(1, Ordering::Relaxed);
            match self.done(chat, token, &body).await {
                Some(Some(next)) if !self.stopping.load(Ordering::Relaxed) => body = next,
                Some(Some(_)) => {
                    self.release(chat, token).await;
                    return;
                }
                Some(None) => return,
                None => {
                    self.lost_leases.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
    }

    /// Renews the lease every second; returns only when it was lost.
    async fn renew_while(&self, chat: i64, token: u64) {
        loop {
            tokio::time::sleep(RENEW_EVERY).await;
            let mut conn = self.conn.clone();
            let renewed: redis::RedisResult<i64> = self
                .scripts
                .renew
                .key(self.chat_keyed("lease", chat))
                .arg(token)
                .arg(LEASE.as_millis() as u64)
                .invoke_async(&mut conn)
                .await;
            match renewed {
                Ok(1) => {}
                Ok(_) => return,
                // Redis away: the handler may still finish; its writes are fenced.
                Err(e) => tracing::warn!(chat, error = %e, "renewing a chat's lease failed"),
            }
        }
    }

    /// Removes the handled update; the next one when there is one. `None`:
    /// the lease was lost (or Redis stayed away), the update stays queued.
    async fn done(&self, chat: i64, token: u64, body: &str) -> Option<Option<String>> {
        let mut wait = Duration::from_millis(50);
        for _ in 0..6 {
            let mut conn = self.conn.clone();
            let result: redis::RedisResult<Vec<redis::Value>> = self
                .scripts
                .done
                .key(self.chat_keyed("lease", chat))
                .key(self.chat_keyed("q", chat))
                .key(self.key("chats"))
                .arg(token)
                .arg(body)
                .arg(LEASE.as_millis() as u64)
                .arg(chat)
                .invoke_async(&mut conn)
                .await;
            match result.as_deref() {
                Ok([redis::Value::Int(1), next]) => {
                    return Some(redis::from_redis_value::<String>(next.clone()).ok());
                }
                Ok([redis::Value::Int(1)]) => return Some(None),
                Ok(_) => {
                    tracing::warn!(
                        chat,
                        "the chat's lease ran out before its update was finished; another replica handles it again"
                    );
                    return None;
                }
                Err(e) => {
                    tracing::warn!(chat, error = %e, "finishing a queued update failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
        }
        None
    }

    async fn release(&self, chat: i64, token: u64) {
        let mut conn = self.conn.clone();
        let released: redis::RedisResult<i64> = self
            .scripts
            .release
            .key(self.chat_keyed("lease", chat))
            .key(self.chat_keyed("q", chat))
            .key(self.key("ready"))
            .key(self.key("readyat"))
            .arg(token)
            .arg(chat)
            .arg(now_ms())
            .invoke_async(&mut conn)
            .await;
        if let Err(e) = released {
            tracing::warn!(chat, error = %e, "handing a chat on failed; its lease runs out instead");
        }
    }

    async fn sweep_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            let mut conn = self.conn.clone();
            let offered: redis::RedisResult<u64> = self
                .scripts
                .sweep
                .key(self.key("chats"))
                .key(self.key("ready"))
                .key(self.key("readyat"))
                .arg(&self.prefix)
                .arg(1000)
                .arg(now_ms())
                .arg(LEASE.as_millis() as u64)
                .invoke_async(&mut conn)
                .await;
            match offered {
                Ok(0) => {}
                Ok(n) => {
                    self.reoffered.fetch_add(n, Ordering::Relaxed);
                    tracing::info!(chats = n, "chats whose replica went away offered again");
                }
                Err(e) => tracing::debug!(error = %e, "sweep of the shared queues failed"),
            }
        }
    }
}

impl Collect for SharedQueue {
    fn collect(&self, out: &mut Scraped) {
        out.one(
            "vox_shared_updates_handled",
            "Updates this replica took from the shared queues and handled",
            Kind::Counter,
            self.handled.load(Ordering::Relaxed) as f64,
        );
        out.one(
            "vox_shared_leases_lost",
            "Chats whose lease ran out while this replica handled them (another replica went on)",
            Kind::Counter,
            self.lost_leases.load(Ordering::Relaxed) as f64,
        );
        out.one(
            "vox_shared_chats_reoffered",
            "Chats found queued with no holder (their replica went away) and offered again",
            Kind::Counter,
            self.reoffered.load(Ordering::Relaxed) as f64,
        );
    }
}

#[cfg(test)]
mod tests;
