//! Who each version served since start: updates and distinct users per
//! (plugin, version), for `rollout status` and the canary's comparisons.
//! Distinct users are a HyperLogLog ([`hll`]): bounded memory at any number
//! of users. With the Redis backend every replica also adds its users to a
//! shared HyperLogLog (`PFADD`, batched each second) and reports the bot's
//! whole count (`PFCOUNT`).

pub mod hll;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use vox_plugin::Manifest;

use crate::metrics::{Collect, Kind, Scraped};
use crate::registry::PluginIdx;

struct Slot {
    version: &'static str,
    updates: AtomicU64,
    // A std mutex held for one insert: no await inside, no contention worth sharding at this scale.
    users: Mutex<hll::Hll>,
    /// Users not yet added to the shared count (only while shared).
    pending: Mutex<Vec<i64>>,
    /// The shared count as last read (while shared).
    shared_users: AtomicU64,
}

/// Counters per plugin and version.
pub struct Served {
    ids: Vec<&'static str>,
    plugins: Vec<Vec<Slot>>,
    shared: std::sync::atomic::AtomicBool,
}

/// Users kept for the next shared flush at most (a second's worth at any
/// load seen; beyond it the shared count misses a few, the local one does not).
const PENDING_MAX: usize = 50_000;

/// One version's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedCount {
    /// The version.
    pub version: &'static str,
    /// Updates it handled.
    pub updates: u64,
    /// Distinct users it served.
    pub users: u64,
}

/// One `T` per declared version of each plugin, in registry order.
pub(crate) fn per_version<T>(
    manifests: &[&'static Manifest],
    make: impl Fn(&'static str) -> T,
) -> Vec<Vec<T>> {
    manifests.iter().map(|m| m.versions.iter().map(|v| make(v.name)).collect()).collect()
}

impl Served {
    /// Empty counters for these manifests (registry order).
    pub fn new(manifests: &[&'static Manifest]) -> Self {
        let plugins = per_version(manifests, |version| Slot {
            version,
            updates: AtomicU64::new(0),
            users: Mutex::new(hll::Hll::default()),
            pending: Mutex::new(Vec::new()),
            shared_users: AtomicU64::new(0),
        });
        Self {
            ids: manifests.iter().map(|m| m.id).collect(),
            plugins,
            shared: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Counts one update of `user` served by `version` of plugin `idx`.
    #[inline]
    pub fn record(&self, idx: PluginIdx, version: &'static str, user: i64) {
        let Some(slot) =
            self.plugins.get(idx.position()).and_then(|s| s.iter().find(|s| s.version == version))
        else {
            return;
        };
        slot.updates.fetch_add(1, Ordering::Relaxed);
        slot.users.lock().unwrap_or_else(|p| p.into_inner()).insert(user);
        if self.shared.load(Ordering::Relaxed) {
            let mut pending = slot.pending.lock().unwrap_or_else(|p| p.into_inner());
            if pending.len() < PENDING_MAX {
                pending.push(user);
            }
        }
    }

    /// Adds this replica's users to the bot's shared counts in Redis every
    /// second and reads the totals back, until aborted.
    pub async fn share(self: std::sync::Arc<Self>, mut conn: redis::aio::ConnectionManager, prefix: String) {
        self.shared.store(true, Ordering::Relaxed);
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            for (position, slots) in self.plugins.iter().enumerate() {
                for slot in slots {
                    let users = std::mem::take(&mut *slot.pending.lock().unwrap_or_else(|p| p.into_inner()));
                    let key = format!("{prefix}served:{}:{}", self.ids[position], slot.version);
                    let mut pipe = redis::pipe();
                    if !users.is_empty() {
                        pipe.pfadd(&key, &users).ignore();
                    }
                    pipe.pfcount(&key);
                    match pipe.query_async::<(u64,)>(&mut conn).await {
                        Ok((n,)) => slot.shared_users.store(n, Ordering::Relaxed),
                        Err(e) => {
                            tracing::debug!(error = %e, "shared served counts not updated");
                            // Kept for the next try.
                            let mut pending = slot.pending.lock().unwrap_or_else(|p| p.into_inner());
                            if pending.len() + users.len() <= PENDING_MAX {
                                pending.extend(users);
                            }
                        }
                    }
                }
            }
        }
    }

    /// The figures of plugin `idx`.
    pub fn counts(&self, idx: PluginIdx) -> Vec<ServedCount> {
        self.slots(idx.position())
    }

    fn slots(&self, position: usize) -> Vec<ServedCount> {
        self.plugins
            .get(position)
            .map(|slots| {
                slots
                    .iter()
                    .map(|s| {
                        let local = s.users.lock().unwrap_or_else(|p| p.into_inner()).count();
                        let users = if self.shared.load(Ordering::Relaxed) {
                            // The bot's count, at least this replica's own.
                            s.shared_users.load(Ordering::Relaxed).max(local)
                        } else {
                            local
                        };
                        ServedCount { version: s.version, updates: s.updates.load(Ordering::Relaxed), users }
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Collect for Served {
    fn collect(&self, out: &mut Scraped) {
        for (idx, id) in self.ids.iter().enumerate() {
            for c in self.slots(idx) {
                out.series(
                    "vox_rollout_served_users",
                    "Distinct users each version served since start (estimated; all replicas' with the Redis backend)",
                    Kind::Gauge,
                    &[("plugin", id), ("version", c.version)],
                    c.users as f64,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vox_plugin::Version;

    #[test]
    fn updates_and_distinct_users_are_counted_per_version() {
        const M: Manifest =
            Manifest { versions: &[Version::new("v1"), Version::new("v2")], ..Manifest::new("m", "M") };
        let served = Served::new(&[&M]);
        served.record(PluginIdx::at(0), "v1", 1);
        served.record(PluginIdx::at(0), "v1", 1);
        served.record(PluginIdx::at(0), "v1", 2);
        served.record(PluginIdx::at(0), "v2", 3);
        served.record(PluginIdx::at(0), "v9", 3);
        served.record(PluginIdx::at(5), "v1", 3);
        assert_eq!(
            served.counts(PluginIdx::at(0)),
            [
                ServedCount { version: "v1", updates: 3, users: 2 },
                ServedCount { version: "v2", updates: 1, users: 1 }
            ]
        );
    }

    #[tokio::test]
    async fn replicas_sharing_a_redis_each_report_the_bots_distinct_users() {
        const M: Manifest = Manifest { versions: &[Version::new("v1")], ..Manifest::new("m", "M") };
        let Some(redis) = vox_redis_server::RedisServer::start() else { return };
        let client = redis::Client::open(redis.url()).expect("url");
        let conn = redis::aio::ConnectionManager::new(client).await.expect("connect");
        let (a, b) = (std::sync::Arc::new(Served::new(&[&M])), std::sync::Arc::new(Served::new(&[&M])));
        let tasks = [
            tokio::spawn(std::sync::Arc::clone(&a).share(conn.clone(), "t:".into())),
            tokio::spawn(std::sync::Arc::clone(&b).share(conn, "t:".into())),
        ];
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        for user in 0..30 {
            a.record(PluginIdx::at(0), "v1", user);
        }
        for user in 20..50 {
            b.record(PluginIdx::at(0), "v1", user);
        }
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while [&a, &b].iter().any(|s| s.counts(PluginIdx::at(0))[0].users != 50) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{:?} / {:?}",
                a.counts(PluginIdx::at(0)),
                b.counts(PluginIdx::at(0))
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(a.counts(PluginIdx::at(0))[0].updates, 30, "updates stay this replica's own");
        for t in tasks {
            t.abort();
        }
    }
}
