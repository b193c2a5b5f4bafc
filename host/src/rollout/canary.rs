//! Each version's recent health: served updates, failures (handler errors,
//! panics) and critical failures the plugin reported, in 10-second buckets over
//! a sliding window — what the automatic rollback compares.

use std::sync::Mutex;

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
    plugins: Vec<Vec<Window>>,
}

impl Canary {
    /// Empty windows for these manifests (registry order).
    pub fn new(manifests: &[&'static Manifest]) -> Self {
        let plugins = crate::rollout::served::per_version(manifests, |version| Window {
            version,
            buckets: Mutex::new(vec![Bucket::default(); BUCKETS]),
        });
        Self { plugins }
    }

    fn window(&self, idx: PluginIdx, version: &str) -> Option<&Window> {
        self.plugins.get(idx.position())?.iter().find(|w| w.version == version)
    }

    /// Records `event` for `version` of plugin `idx` at `now_secs` (host clock, seconds).
    pub fn record(&self, idx: PluginIdx, version: &str, event: Event, now_secs: u64) {
        let Some(w) = self.window(idx, version) else { return };
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
}
