//! Who each version served since start: updates and distinct users per
//! (plugin, version), for `rollout status` and the canary's comparisons.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use vox_plugin::Manifest;

use crate::metrics::{Collect, Kind, Scraped};
use crate::registry::PluginIdx;

struct Slot {
    version: &'static str,
    updates: AtomicU64,
    // A std mutex held for one insert: no await inside, no contention worth a sharded set at this scale.
    users: Mutex<HashSet<i64>>,
}

/// Counters per plugin and version.
pub struct Served {
    ids: Vec<&'static str>,
    plugins: Vec<Vec<Slot>>,
}

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
            users: Mutex::new(HashSet::new()),
        });
        Self { ids: manifests.iter().map(|m| m.id).collect(), plugins }
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
                    .map(|s| ServedCount {
                        version: s.version,
                        updates: s.updates.load(Ordering::Relaxed),
                        users: s.users.lock().unwrap_or_else(|p| p.into_inner()).len() as u64,
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
                    "Distinct users each version served since start",
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
}
