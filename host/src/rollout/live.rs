//! The part of the config that changes without a restart — per plugin: on/off
//! and the version policy — held as one snapshot that is swapped atomically, so
//! no update ever sees half a change. [`super::writer`] is its one writer.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::registry::load::CheckedPlugin;
use crate::registry::{PluginIdx, Registry};
use crate::rollout::overrides::Overrides;
use crate::rollout::policy::Policy;

/// One plugin's live settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LivePlugin {
    /// `enabled`.
    pub enabled: bool,
    /// `version`, `versions`, `rollout`.
    pub policy: Policy,
    /// Why the host rolled the candidate back by itself, while that override stands.
    pub override_reason: Option<String>,
}

impl LivePlugin {
    /// As JSON, for the audit log and the status file.
    pub fn describe(&self) -> serde_json::Value {
        let versions: serde_json::Map<String, serde_json::Value> = self
            .policy
            .versions
            .iter()
            .map(|(v, on)| ((*v).to_owned(), serde_json::Value::Bool(*on)))
            .collect();
        let rollout = self.policy.rollout.as_ref().map(|r| {
            serde_json::json!({
                "stable": r.stable, "candidate": r.candidate, "percent": r.percent,
                "allow": r.allow(), "deny": r.deny(), "kill": r.kill, "salt": r.salt,
            })
        });
        serde_json::json!({
            "override": self.override_reason,
            "enabled": self.enabled,
            "version": self.policy.configured,
            "versions": versions,
            "rollout": rollout,
        })
    }
}

/// Every plugin's live settings, in registry order, with the generation that
/// counts applied changes since start.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveConfig {
    /// 1 at start, +1 per applied change.
    pub generation: u64,
    /// Plugin `i` is the registry's manifest `i`.
    pub plugins: Vec<LivePlugin>,
    /// [`file_stamp`] of the config file text this was rebuilt from (`None`:
    /// no file). The rollout CLI confirms an edit only once the running host
    /// reports the stamp of the text it wrote.
    pub stamp: Option<String>,
}

/// The shared, swappable live config. Only [`super::writer::LiveWriter`] stores into it.
pub type Live = Arc<ArcSwap<LiveConfig>>;

impl LiveConfig {
    /// The file's part of the live config, from checked sections (no overrides yet).
    pub fn from_checked(plugins: &[CheckedPlugin]) -> Vec<LivePlugin> {
        plugins
            .iter()
            .map(|p| LivePlugin { enabled: p.enabled, policy: p.policy.clone(), override_reason: None })
            .collect()
    }

    /// Generation 1 from checked sections, as the operator's commands show it.
    pub fn initial(plugins: &[CheckedPlugin]) -> Self {
        Self { generation: 1, plugins: Self::from_checked(plugins), stamp: None }
    }

    /// Plugin `idx`'s live settings.
    pub fn plugin(&self, idx: PluginIdx) -> &LivePlugin {
        &self.plugins[idx.position()]
    }

    /// Applies standing automatic rollbacks: the overridden candidate is killed.
    pub fn apply_overrides(registry: &Registry, plugins: &mut [LivePlugin], overrides: &Overrides) {
        for (m, p) in registry.manifests().iter().zip(plugins.iter_mut()) {
            let Some(o) = overrides.get(m.id) else { continue };
            if let Some(r) = p.policy.rollout.as_mut().filter(|r| r.candidate == o.candidate) {
                r.kill = true;
                p.override_reason = Some(o.reason.clone());
            }
        }
    }
}

/// How the live config names the file text it came from: FNV-1a 64 of the
/// bytes, in hex. Not a security hash: it tells one edit from the next.
pub fn file_stamp(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}
