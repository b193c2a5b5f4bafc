//! The windows of every replica together (`state.backend = "redis"`): each
//! replica adds what it saw to 10-second buckets in Redis keyed by wall-clock
//! time (`canary:<plugin>:<version>:<bucket>`, a hash of served / failed /
//! critical, kept an hour), and the automatic rollback judges the bot's
//! totals, not one replica's share of them. Local counts wait in `pending`
//! until the next flush (each failure and every 10 s).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use redis::aio::ConnectionManager;

use super::{BUCKET_SECS, BUCKETS, Event, Totals};

/// (plugin position, version, wall-clock bucket).
type Slot = (usize, &'static str, u64);

/// Counts not yet in Redis: served, failed, critical per slot.
#[derive(Default)]
pub(super) struct Pending {
    counts: Mutex<HashMap<Slot, [u32; 3]>>,
}

fn wall_bucket() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) / BUCKET_SECS
}

fn key(prefix: &str, plugin: &str, version: &str, bucket: u64) -> String {
    format!("{prefix}canary:{plugin}:{version}:{bucket}")
}

impl Pending {
    pub(super) fn add(&self, plugin: usize, version: &'static str, event: Event) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let c = counts.entry((plugin, version, wall_bucket())).or_default();
        match event {
            Event::Ok => c[0] += 1,
            Event::Failed => {
                c[0] += 1;
                c[1] += 1;
            }
            Event::Critical => c[2] += 1,
        }
    }

    /// Adds the pending counts to Redis; kept for the next try when it fails.
    pub(super) async fn flush(
        &self,
        conn: &mut ConnectionManager,
        prefix: &str,
        ids: &[&'static str],
    ) -> redis::RedisResult<()> {
        let taken = std::mem::take(&mut *self.counts.lock().unwrap_or_else(|p| p.into_inner()));
        if taken.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (&(plugin, version, bucket), c) in &taken {
            let key = key(prefix, ids[plugin], version, bucket);
            for (field, n) in ["served", "failed", "critical"].iter().zip(c) {
                if *n > 0 {
                    pipe.hincr(&key, field, *n).ignore();
                }
            }
            pipe.expire(&key, (BUCKETS as u64 * BUCKET_SECS + 60) as i64).ignore();
        }
        let result = pipe.query_async::<()>(conn).await;
        if result.is_err() {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            for (k, c) in taken {
                let e = counts.entry(k).or_default();
                for i in 0..3 {
                    e[i] += c[i];
                }
            }
        }
        result
    }
}

/// Every replica's totals for `version` of `plugin` over the last `window_secs`.
pub(super) async fn totals(
    conn: &mut ConnectionManager,
    prefix: &str,
    plugin: &str,
    version: &str,
    window_secs: u64,
) -> redis::RedisResult<Totals> {
    let now = wall_bucket();
    let span = window_secs.div_ceil(BUCKET_SECS).clamp(1, BUCKETS as u64);
    let mut pipe = redis::pipe();
    for bucket in now + 1 - span..=now {
        pipe.cmd("HMGET")
            .arg(key(prefix, plugin, version, bucket))
            .arg("served")
            .arg("failed")
            .arg("critical");
    }
    let rows: Vec<(Option<u64>, Option<u64>, Option<u64>)> = pipe.query_async(conn).await?;
    Ok(rows.into_iter().fold(Totals::default(), |t, (s, f, c)| Totals {
        served: t.served + s.unwrap_or(0),
        failed: t.failed + f.unwrap_or(0),
        critical: t.critical + c.unwrap_or(0),
    }))
}
