//! Each version's recent health: served updates, failures (handler errors,
//! panics) and critical failures the plugin reported, in 10-second buckets over
//! a sliding window — what the automatic rollback compares. With the Redis
//! backend, every replica's windows together (`shared.rs`).

mod shared;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use vox_plugin::Manifest;

use crate::registry::PluginIdx;

/// Bucket width, seconds.
const BUCKET_SECS: u64 = 10;
/// Buckets kept: the longest window is `BUCKETS × BUCKET_SECS` (1 hour).
const BUCKETS: usize = 360;

/// What happened to one update, for the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Served without error.
    Ok,
    /// The handler returned an error or panicked.
    Failed,
    /// The plugin reported a failure it carried on from (not an extra update).
    Critical,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    slot: u64,
    served: u32,
    failed: u32,
    critical: u32,
}

/// Totals over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Updates served (ok + failed).
    pub served: u64,
    /// Updates whose handler failed.
    pub failed: u64,
    /// Failures the plugin reported.
    pub critical: u64,
}

impl Totals {
    /// Failed updates per served update.
    pub fn error_rate(&self) -> f64 {
        if self.served == 0 { 0.0 } else { self.failed as f64 / self.served as f64 }
    }
}

struct Window {
    version: &'static str,
    buckets: Mutex<Vec<Bucket>>,
}

/// Windows per plugin and version.
pub struct Canary {
    ids: Vec<&'static str>,
    plugins: Vec<Vec<Window>>,
    shared: AtomicBool,
    pending: shared::Pending,
}

impl Canary {
    /// Empty windows for these manifests (registry order).
    pub fn new(manifests: &[&'static Manifest]) -> Self {
        let plugins = crate::rollout::served::per_version(manifests, |version| Window {
            version,
            buckets: Mutex::new(vec![Bucket::default(); BUCKETS]),
        });
        Self {
            ids: manifests.iter().map(|m| m.id).collect(),
            plugins,
            shared: AtomicBool::new(false),
            pending: shared::Pending::default(),
        }
    }

    /// From now on every event is also kept for the shared windows.
    pub fn share(&self) {
        self.shared.store(true, Ordering::Relaxed);
    }

    /// Adds this replica's events since the last flush to the shared windows.
    pub async fn flush(
        &self,
        conn: &mut redis::aio::ConnectionManager,
        prefix: &str,
    ) -> redis::RedisResult<()> {
        self.pending.flush(conn, prefix, &self.ids).await
    }

    /// Every replica's totals of the last `window_secs` (wall clock).
    pub async fn shared_totals(
        &self,
        conn: &mut redis::aio::ConnectionManager,
        prefix: &str,
        idx: PluginIdx,
        version: &str,
        window_secs: u64,
    ) -> redis::RedisResult<Totals> {
        let Some(plugin) = self.ids.get(idx.position()) else { return Ok(Totals::default()) };
        shared::totals(conn, prefix, plugin, version, window_secs).await
    }

    fn window(&self, idx: PluginIdx, version: &str) -> Option<&Window> {
        self.plugins.get(idx.position())?.iter().find(|w| w.version == version)
    }

    /// Records `event` for `version` of plugin `idx` at `now_secs` (host clock, seconds).
    pub fn record(&self, idx: PluginIdx, version: &str, event: Event, now_secs: u64) {
        let Some(w) = self.window(idx, version) else { return };
        if self.shared.load(Ordering::Relaxed) {
            self.pending.add(idx.position(), w.version, event);
        }
        let slot = now_secs / BUCKET_SECS;
        let mut buckets = w.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = &mut buckets[(slot % BUCKETS as u64) as usize];
        if b.slot != slot {
            *b = Bucket { slot, ..Bucket::default() };
        }
        match event {
            Event::Ok => b.served += 1,
            Event::Failed => {
                b.served += 1;
                b.failed += 1;
            }
            Event::Critical => b.critical += 1,
        }
    }

    /// Totals of the last `window_secs` up to `now_secs`.
    pub fn totals(&self, idx: PluginIdx, version: &str, window_secs: u64, now_secs: u64) -> Totals {
        let Some(w) = self.window(idx, version) else { return Totals::default() };
        let now = now_secs / BUCKET_SECS;
        let span = window_secs.div_ceil(BUCKET_SECS).clamp(1, BUCKETS as u64);
        let buckets = w.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets
            .iter()
            .filter(|b| b.slot <= now && now - b.slot < span && (b.served > 0 || b.critical > 0))
            .fold(Totals::default(), |t, b| Totals {
                served: t.served + u64::from(b.served),
                failed: t.failed + u64::from(b.failed),
                critical: t.critical + u64::from(b.critical),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vox_plugin::Version;

    const M: Manifest =
        Manifest { versions: &[Version::new("v1"), Version::new("v2")], ..Manifest::new("m", "M") };

    #[test]
    fn events_count_inside_the_window_and_age_out() {
        let h = Canary::new(&[&M]);
        h.record(PluginIdx::at(0), "v2", Event::Ok, 1000);
        h.record(PluginIdx::at(0), "v2", Event::Failed, 1005);
        h.record(PluginIdx::at(0), "v2", Event::Critical, 1100);
        h.record(PluginIdx::at(0), "v1", Event::Ok, 1100);
        assert_eq!(h.totals(PluginIdx::at(0), "v2", 300, 1100), Totals { served: 2, failed: 1, critical: 1 });
        assert_eq!(h.totals(PluginIdx::at(0), "v2", 300, 1100).error_rate(), 0.5);
        assert_eq!(
            h.totals(PluginIdx::at(0), "v2", 60, 1100),
            Totals { served: 0, failed: 0, critical: 1 },
            "older buckets left out"
        );
        assert_eq!(h.totals(PluginIdx::at(0), "v2", 300, 5000), Totals::default(), "everything aged out");
        assert_eq!(h.totals(PluginIdx::at(0), "v1", 300, 1100).served, 1);
        h.record(PluginIdx::at(0), "v9", Event::Failed, 1100);
        h.record(PluginIdx::at(3), "v1", Event::Failed, 1100);
    }

    #[tokio::test]
    async fn replicas_on_one_redis_judge_the_bots_totals() {
        let Some(redis) = vox_redis_server::RedisServer::start() else { return };
        let client = redis::Client::open(redis.url()).expect("url");
        let mut conn = redis::aio::ConnectionManager::new(client).await.expect("connect");
        let (a, b) = (Canary::new(&[&M]), Canary::new(&[&M]));
        a.share();
        b.share();
        let v2 = PluginIdx::at(0);
        a.record(v2, "v2", Event::Failed, 1);
        a.record(v2, "v2", Event::Ok, 1);
        b.record(v2, "v2", Event::Failed, 1);
        b.record(v2, "v2", Event::Critical, 1);
        assert_eq!(a.shared_totals(&mut conn, "t:", v2, "v2", 300).await.expect("read"), Totals::default());
        a.flush(&mut conn, "t:").await.expect("flush");
        b.flush(&mut conn, "t:").await.expect("flush");
        let want = Totals { served: 3, failed: 2, critical: 1 };
        assert_eq!(a.shared_totals(&mut conn, "t:", v2, "v2", 300).await.expect("read"), want);
        assert_eq!(
            b.shared_totals(&mut conn, "t:", v2, "v2", 300).await.expect("read"),
            want,
            "the same on each"
        );
        assert_eq!(a.totals(v2, "v2", 300, 1).failed, 1, "the local window stays this replica's");
        b.flush(&mut conn, "t:").await.expect("nothing new is fine");
        assert_eq!(b.shared_totals(&mut conn, "t:", v2, "v1", 300).await.expect("read"), Totals::default());
    }
}
