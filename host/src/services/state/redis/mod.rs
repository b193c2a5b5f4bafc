//! Dialogue state in Redis, shared by every replica of one bot. Each dialogue
//! and value is one key under the configured prefix; Redis expires them
//! (dialogues an hour after their deadline, so a returning user still hears
//! the step timed out; values at their own time), so nothing sweeps. Every
//! write is one script that first checks the writer's fencing token
//! ([`super::fence`]) against the chat's newest lease: a replica paused past
//! its lease cannot overwrite what the chat's new holder wrote.
//!
//! The `redis` crate's `ConnectionManager` (one multiplexed connection,
//! reconnected with backoff after a failure) rather than `fred`: fewer
//! dependencies on a 2-core build, the scripts and commands here are all it
//! needs, and redis-rs is what the rest of the Rust ecosystem tests against.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use serde::{Deserialize, Serialize};

use super::{DialogueState, StateError, StateKey, StateStore, ValueKey, from_unix_ms, unix_ms};
use crate::metrics::{Collect, Kind, Scraped};

/// Maps stored names back to the linked plugins' own (`plugin`, `version`,
/// `step`); `None` when no linked plugin declares that step any more.
pub type Owners = Arc<
    dyn Fn(&str, Option<&str>, &str) -> Option<(&'static str, Option<&'static str>, &'static str)>
        + Send
        + Sync,
>;

/// Expired dialogues stay this long (the host tells the user the step timed out).
const KEEP_EXPIRED: Duration = Duration::from_secs(3600);
/// One command's answer may take this long before it counts as failed.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Connecting may take this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// `KEYS[1]` the key written, `KEYS[2]` the chat's fence; `ARGV[1]` the
/// writer's token (0: unfenced), `ARGV[2]` the value ('' deletes), `ARGV[3]`
/// when it expires (ms since the epoch, 0: never). Returns
/// `{written, previous}`; written is 0 when the token is stale.
const WRITE: &str = r"
if ARGV[1] ~= '0' then
  local newest = tonumber(redis.call('GET', KEYS[2]) or '0')
  if tonumber(ARGV[1]) < newest then return {0, false} end
end
local previous = redis.call('GET', KEYS[1])
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2])
  if ARGV[3] ~= '0' then redis.call('PEXPIREAT', KEYS[1], ARGV[3]) end
end
return {1, previous}
";

/// Renews a lease if its holder still has it. `KEYS[1]` the lease,
/// `ARGV[1]` the holder's token, `ARGV[2]` the lease in ms; 1 when renewed,
/// 0 when it ran out or another holder has it. Chat leases and user locks
/// alike.
pub const RENEW_LEASE: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// A dialogue as stored (names as text: they are resolved on read).
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    p: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    v: Option<String>,
    s: String,
    d: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<i64>,
}

/// A value as stored: its expiry (ms) and the plugin's JSON text.
#[derive(Debug, Serialize, Deserialize)]
struct StoredValue {
    t: i64,
    v: String,
}

/// Redis-backed dialogue state; see the module documentation.
pub struct RedisStore {
    conn: ConnectionManager,
    client: redis::Client,
    prefix: String,
    owners: Owners,
    write: Script,
    /// Since when (ms after `origin`, plus one) Redis has not answered; 0 while it does.
    down_since: AtomicU64,
    origin: Instant,
    errors: AtomicU64,
    fenced: AtomicU64,
    dropped: AtomicU64,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store on `url` with keys under `prefix`; connects on first use and
    /// again after every failure (must be called on a Tokio runtime). Fails
    /// only on a URL that cannot be used.
    pub fn open(url: &str, prefix: &str, owners: Owners) -> Result<Self, StateError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StateError(
                "the Redis state store must be opened inside a Tokio runtime (build the host within `Runtime::enter`)"
                    .into(),
            ));
        }
        let client = redis::Client::open(url).map_err(|e| StateError(format!("`redis.url`: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(3)
            .set_max_delay(Duration::from_secs(2));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|e| StateError(format!("`redis.url`: {e}")))?;
        Ok(Self {
            conn,
            client,
            prefix: prefix.to_owned(),
            owners,
            write: Script::new(WRITE),
            down_since: AtomicU64::new(0),
            origin: Instant::now(),
            errors: AtomicU64::new(0),
            fenced: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        })
    }

    /// The multiplexed connection (other shared subsystems use it too).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The client, for connections of their own (a blocking `BLPOP`).
    pub fn client(&self) -> redis::Client {
        self.client.clone()
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the last command got an answer.
    pub fn is_up(&self) -> bool {
        self.down_since.load(Ordering::Relaxed) == 0
    }

    fn dialogue_key(&self, key: StateKey) -> String {
        format!("{}d:{}:{}", self.prefix, key.chat, key.user)
    }

    fn value_key(&self, key: &ValueKey) -> String {
        format!("{}v:{}:{}:{}:{}", self.prefix, key.plugin, key.key.chat, key.key.user, key.name)
    }

    /// The chat's fence: the newest lease's token.
    pub fn fence_key(&self, chat: i64) -> String {
        format!("{}fence:{}", self.prefix, chat)
    }

    fn seen<T>(&self, result: redis::RedisResult<T>) -> Result<T, StateError> {
        self.observe(&result);
        result.map_err(|e| StateError(format!("redis: {e}")))
    }

    /// Counts what Redis answered for `/healthz` and `/metrics`: everything
    /// that shares this store's Redis (the shared queues) reports here.
    pub fn observe<T>(&self, result: &redis::RedisResult<T>) {
        match result {
            Ok(_) => self.down_since.store(0, Ordering::Relaxed),
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal()
                {
                    let now = self.origin.elapsed().as_millis() as u64 + 1;
                    let _ = self.down_since.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
                }
            }
        }
    }

    /// Writes `value` ('' deletes) at `key` fenced by the chat's lease; the previous value.
    async fn write(
        &self,
        key: &str,
        chat: i64,
        value: &str,
        expires_ms: i64,
    ) -> Result<Option<String>, StateError> {
        let token = super::fence::current();
        let mut conn = self.conn.clone();
        let result: redis::RedisResult<(i64, Option<String>)> = self
            .write
            .key(key)
            .key(self.fence_key(chat))
            .arg(token)
            .arg(value)
            .arg(expires_ms.max(0))
            .invoke_async(&mut conn)
            .await;
        let (written, previous) = self.seen(result)?;
        if written == 0 {
            self.fenced.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                chat,
                token,
                "state write refused: another replica took this chat over since (stale lease)"
            );
            return Err(StateError(format!(
                "write to chat {chat} refused: lease {token} is stale (another replica holds the chat now)"
            )));
        }
        Ok(previous)
    }

    fn decode(&self, key: StateKey, text: &str) -> Option<DialogueState> {
        let stored: Stored = match serde_json::from_str(text) {
            Ok(s) => s,
            Err(e) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(chat = key.chat, user = key.user, error = %e, "stored dialogue is not readable; ignored");
                return None;
            }
        };
        match (self.owners)(&stored.p, stored.v.as_deref(), &stored.s) {
            Some((plugin, version, step)) => Some(DialogueState {
                plugin,
                version,
                step,
                data: stored.d,
                deadline: stored.t.map(from_unix_ms),
            }),
            None => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    chat = key.chat,
                    user = key.user,
                    plugin = stored.p,
                    step = stored.s,
                    "stored dialogue's step is declared by no linked plugin; ignored"
                );
                None
            }
        }
    }
}

#[async_trait::async_trait]
impl StateStore for RedisStore {
    async fn get(&self, key: StateKey) -> Result<Option<DialogueState>, StateError> {
        let mut conn = self.conn.clone();
        let text: Option<String> = self.seen(conn.get(self.dialogue_key(key)).await)?;
        Ok(text.and_then(|t| self.decode(key, &t)))
    }

    async fn set(&self, key: StateKey, state: DialogueState) -> Result<(), StateError> {
        let stored = Stored {
            p: state.plugin.to_owned(),
            v: state.version.map(str::to_owned),
            s: state.step.to_owned(),
            d: state.data,
            t: state.deadline.map(unix_ms),
        };
        let text = serde_json::to_string(&stored).map_err(|e| StateError(e.to_string()))?;
        let expires = state.deadline.map_or(0, |d| unix_ms(d + KEEP_EXPIRED));
        self.write(&self.dialogue_key(key), key.chat, &text, expires).await.map(|_| ())
    }

    async fn remove(&self, key: StateKey) -> Result<Option<DialogueState>, StateError> {
        let previous = self.write(&self.dialogue_key(key), key.chat, "", 0).await?;
        Ok(previous.and_then(|t| self.decode(key, &t)))
    }

    async fn purge_expired(&self, _now: SystemTime) -> Result<usize, StateError> {
        // Redis expires the keys itself.
        Ok(0)
    }

    async fn get_value(&self, key: &ValueKey, now: SystemTime) -> Result<Option<String>, StateError> {
        let mut conn = self.conn.clone();
        let text: Option<String> = self.seen(conn.get(self.value_key(key)).await)?;
        let Some(text) = text else { return Ok(None) };
        match serde_json::from_str::<StoredValue>(&text) {
            // Judged by the host's clock (Redis' may differ by a little).
            Ok(v) if v.t > unix_ms(now) => Ok(Some(v.v)),
            Ok(_) => Ok(None),
            Err(e) => {
                tracing::warn!(plugin = key.plugin, name = key.name, error = %e, "stored value is not readable; ignored");
                Ok(None)
            }
        }
    }

    async fn set_value(&self, key: ValueKey, value: String, expires: SystemTime) -> Result<(), StateError> {
        let t = unix_ms(expires);
        let text =
            serde_json::to_string(&StoredValue { t, v: value }).map_err(|e| StateError(e.to_string()))?;
        self.write(&self.value_key(&key), key.key.chat, &text, t).await.map(|_| ())
    }

    async fn remove_value(&self, key: &ValueKey) -> Result<(), StateError> {
        self.write(&self.value_key(key), key.key.chat, "", 0).await.map(|_| ())
    }

    fn unavailable_for(&self) -> Option<Duration> {
        match self.down_since.load(Ordering::Relaxed) {
            0 => None,
            since => Some(self.origin.elapsed().saturating_sub(Duration::from_millis(since - 1))),
        }
    }
}

impl Collect for RedisStore {
    fn collect(&self, out: &mut Scraped) {
        out.one(
            "vox_state_redis_up",
            "Whether the state store's Redis answered its last command",
            Kind::Gauge,
            f64::from(u8::from(self.is_up())),
        );
        out.one(
            "vox_state_redis_errors",
            "State store commands Redis did not answer or refused",
            Kind::Counter,
            self.errors.load(Ordering::Relaxed) as f64,
        );
        out.one(
            "vox_state_fenced_writes",
            "State writes refused because another replica took the chat over since (a stale lease)",
            Kind::Counter,
            self.fenced.load(Ordering::Relaxed) as f64,
        );
        out.one(
            "vox_state_dialogues_dropped",
            "Stored dialogues ignored: no linked plugin declares their step, or they are not readable",
            Kind::Counter,
            self.dropped.load(Ordering::Relaxed) as f64,
        );
    }
}

#[cfg(test)]
mod tests;
