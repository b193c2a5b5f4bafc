//! Async locks: a user's (one operation of a user at a time — view send,
//! rename, delete — across chats and concurrent updates) and the ones a plugin
//! names (`Ctx::lock_shared`: one writer of a shared resource such as the
//! reports directory). With the Redis backend they hold across replicas: after
//! the process's own lock, the lock in Redis (`ulock:<user>` or
//! `nlock:<plugin>:<name>`, renewed while held, released on drop) taken with a
//! fencing token (from `ufence:<user>` or `nfence:<plugin>:<name>`) that grows
//! with every taking.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::Script;
use vox_plugin::host::Lock;

use crate::services::state::RedisStore;
use crate::services::state::redis::RENEW_LEASE;

/// Above this many entries, idle locks are dropped on the next insert.
const PRUNE_ABOVE: usize = 1024;
/// How long a user's Redis lock holds without renewal (a dead replica's user waits this long).
const LEASE: Duration = Duration::from_secs(30);
/// How often a held Redis lock is renewed.
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// How often a waiter asks Redis again.
const RETRY_EVERY: Duration = Duration::from_millis(25);

const ACQUIRE: &str = r"
-- KEYS: lock, fence; ARGV: lease_ms. The new token, or 0 while held.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[1])
return token
";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
";

/// Whose lock.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(i64),
    Named(&'static str, String),
}

impl Key {
    /// The lock's key and its fence counter's key in Redis.
    fn redis_keys(&self, prefix: &str) -> (String, String) {
        match self {
            Key::User(user) => (format!("{prefix}ulock:{user}"), format!("{prefix}ufence:{user}")),
            Key::Named(plugin, name) => {
                (format!("{prefix}nlock:{plugin}:{name}"), format!("{prefix}nfence:{plugin}:{name}"))
            }
        }
    }
}

/// The table of locks.
#[derive(Default)]
pub struct Locks {
    locks: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
    shared: Option<Arc<Shared>>,
}

impl std::fmt::Debug for Locks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locks").field("shared", &self.shared.is_some()).finish_non_exhaustive()
    }
}

struct Shared {
    store: Arc<RedisStore>,
    lease: Duration,
    acquire: Script,
    renew: Script,
    release: Script,
}

/// What a shared lock's holder keeps: the process's guard, the renewal, and
/// what releasing needs.
struct Held {
    _local: tokio::sync::OwnedMutexGuard<()>,
    renewal: tokio::task::JoinHandle<()>,
    shared: Arc<Shared>,
    key: String,
    token: u64,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.renewal.abort();
        let (shared, key, token) = (Arc::clone(&self.shared), std::mem::take(&mut self.key), self.token);
        // Without a runtime (shutting down) the lease runs out by itself.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let mut conn = shared.store.connection();
                let released: redis::RedisResult<i64> =
                    shared.release.key(&key).arg(token).invoke_async(&mut conn).await;
                if let Err(e) = released {
                    tracing::warn!(error = %e, key, "releasing a lock failed; it runs out by itself");
                }
            });
        }
    }
}

impl Locks {
    /// Locks shared by every replica on `store`'s Redis.
    pub fn shared(store: Arc<RedisStore>) -> Self {
        Self::shared_with_lease(store, LEASE)
    }

    fn shared_with_lease(store: Arc<RedisStore>, lease: Duration) -> Self {
        Self {
            locks: Mutex::default(),
            shared: Some(Arc::new(Shared {
                store,
                lease,
                acquire: Script::new(ACQUIRE),
                renew: Script::new(RENEW_LEASE),
                release: Script::new(RELEASE),
            })),
        }
    }

    /// Takes `user`'s lock, waiting at most `wait`.
    pub async fn lock(&self, user: i64, wait: Duration) -> Option<Lock> {
        self.take(Key::User(user), wait).await
    }

    /// Takes `plugin`'s lock `name`, waiting at most `wait`.
    pub async fn lock_named(&self, plugin: &'static str, name: &str, wait: Duration) -> Option<Lock> {
        self.take(Key::Named(plugin, name.to_owned()), wait).await
    }

    async fn take(&self, whose: Key, wait: Duration) -> Option<Lock> {
        let started = tokio::time::Instant::now();
        let mutex = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            if locks.len() > PRUNE_ABOVE {
                // Only the table holds an idle lock; a held or awaited one has more owners.
                locks.retain(|_, m| Arc::strong_count(m) > 1);
            }
            Arc::clone(locks.entry(whose.clone()).or_default())
        };
        let local = match mutex.clone().try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => tokio::time::timeout(wait, mutex.lock_owned()).await.ok()?,
        };
        let Some(shared) = &self.shared else { return Some(Lock::new(local)) };
        let deadline = started + wait;
        let (key, fence) = whose.redis_keys(shared.store.prefix());
        loop {
            let mut conn = shared.store.connection();
            let taken: redis::RedisResult<u64> = shared
                .acquire
                .key(&key)
                .key(&fence)
                .arg(shared.lease.as_millis() as u64)
                .invoke_async(&mut conn)
                .await;
            shared.store.observe(&taken);
            match taken {
                Ok(0) => {}
                Ok(token) => {
                    let renewal = tokio::spawn(renew(Arc::clone(shared), key.clone(), token));
                    let held = Held { _local: local, renewal, shared: Arc::clone(shared), key, token };
                    return Some(Lock::held(held, token));
                }
                // Redis away: refused (the caller says "try again"), never taken unshared.
                Err(e) => tracing::warn!(key, error = %e, "cannot take a lock in Redis"),
            }
            if tokio::time::Instant::now() + RETRY_EVERY > deadline {
                return None;
            }
            tokio::time::sleep(RETRY_EVERY).await;
        }
    }
}

async fn renew(shared: Arc<Shared>, key: String, token: u64) {
    let every = RENEW_EVERY.min(shared.lease / 3);
    loop {
        tokio::time::sleep(every).await;
        let mut conn = shared.store.connection();
        let renewed: redis::RedisResult<i64> = shared
            .renew
            .key(&key)
            .arg(token)
            .arg(shared.lease.as_millis() as u64)
            .invoke_async(&mut conn)
            .await;
        match renewed {
            Ok(1) => {}
            Ok(_) => {
                tracing::warn!(key, token, "a lock ran out while held; another holder may have it (fenced)");
                return;
            }
            Err(e) => tracing::warn!(key, error = %e, "renewing a lock failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_second_lock_waits_then_gives_up() {
        let locks = Locks::default();
        let held = locks.lock(7, Duration::ZERO).await.expect("free lock");
        assert!(locks.lock(7, Duration::from_millis(500)).await.is_none(), "held lock times out");
        assert!(locks.lock(8, Duration::ZERO).await.is_some(), "other users are independent");
        drop(held);
        assert!(locks.lock(7, Duration::ZERO).await.is_some(), "released lock is free again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_gets_the_lock_when_released_in_time() {
        let locks = Arc::new(Locks::default());
        let held = locks.lock(1, Duration::ZERO).await.expect("free");
        let waiter = tokio::spawn({
            let locks = Arc::clone(&locks);
            async move { locks.lock(1, Duration::from_secs(2)).await.is_some() }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(held);
        assert!(waiter.await.expect("join"));
    }

    fn replica(redis: &vox_redis_server::RedisServer, lease: Duration) -> Locks {
        let owners: crate::services::state::redis::Owners =
            Arc::new(|_: &str, _: Option<&str>, _: &str| None);
        let store = Arc::new(RedisStore::open(&redis.url(), "t:", owners).expect("url"));
        Locks::shared_with_lease(store, lease)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replicas_share_a_users_lock_and_each_taking_has_a_higher_fence() {
        let Some(redis) = vox_redis_server::RedisServer::start() else { return };
        let (a, b) = (replica(&redis, LEASE), replica(&redis, LEASE));
        let held = a.lock(7, Duration::ZERO).await.expect("free");
        assert!(held.fence() > 0);
        assert!(b.lock(7, Duration::from_millis(100)).await.is_none(), "held on the other replica");
        assert!(b.lock(8, Duration::ZERO).await.is_some(), "other users are independent");
        let first = held.fence();
        drop(held);
        let again = b.lock(7, Duration::from_secs(2)).await.expect("released, so the other replica gets it");
        assert!(again.fence() > first, "{} after {first}", again.fence());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_holder_paused_past_its_lease_loses_the_lock_to_a_higher_fence() {
        let Some(redis) = vox_redis_server::RedisServer::start() else { return };
        let a = replica(&redis, Duration::from_millis(300));
        let b = replica(&redis, Duration::from_millis(300));
        // Replica A took user 9's lock and then stalled: nothing renews it.
        let shared = a.shared.as_ref().expect("shared");
        let mut conn = shared.store.connection();
        let stale: u64 = shared
            .acquire
            .key("t:ulock:9")
            .key("t:ufence:9")
            .arg(300)
            .invoke_async(&mut conn)
            .await
            .expect("acquire");
        assert!(stale > 0);
        assert!(b.lock(9, Duration::from_millis(50)).await.is_none(), "held while the lease runs");
        let taken = b.lock(9, Duration::from_secs(2)).await.expect("the lease ran out");
        assert!(taken.fence() > stale, "a store can tell the stale holder by its token");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_named_lock_is_one_holder_across_replicas_and_apart_from_user_locks() {
        let Some(redis) = vox_redis_server::RedisServer::start() else { return };
        let (a, b) = (replica(&redis, LEASE), replica(&redis, LEASE));
        let held = a.lock_named("my_reports", "reports", Duration::ZERO).await.expect("free");
        assert!(held.fence() > 0);
        assert!(b.lock_named("my_reports", "reports", Duration::from_millis(100)).await.is_none());
        assert!(b.lock_named("other", "reports", Duration::ZERO).await.is_some(), "plugins apart");
        assert!(b.lock(1, Duration::ZERO).await.is_some(), "user locks apart");
        let first = held.fence();
        drop(held);
        let again = b.lock_named("my_reports", "reports", Duration::from_secs(2)).await.expect("released");
        assert!(again.fence() > first);
    }

    #[tokio::test(start_paused = true)]
    async fn without_redis_a_named_lock_is_this_process_and_unfenced() {
        let locks = Locks::default();
        let held = locks.lock_named("p", "x", Duration::ZERO).await.expect("free");
        assert_eq!(held.fence(), 0);
        assert!(locks.lock_named("p", "x", Duration::from_millis(10)).await.is_none());
    }
}
