//! The part of the config that changes without a restart — per plugin: on/off
//! and the version policy — held as one snapshot that is swapped atomically, so
//! no update ever sees half a change.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::overrides::Overrides;
use crate::plugins::{LoadedPlugin, host_keys};
use crate::registry::Registry;
use crate::rollout::Policy;

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
}

/// The shared, swappable live config.
pub type Live = Arc<ArcSwap<LiveConfig>>;

impl LiveConfig {
    /// Generation 1, from the plugins as built at start.
    pub fn initial(plugins: &[LoadedPlugin]) -> Self {
        let plugins = plugins
            .iter()
            .map(|p| LivePlugin { enabled: p.enabled, policy: p.policy.clone(), override_reason: None })
            .collect();
        Self { generation: 1, plugins }
    }

    /// Compiles the live part of freshly loaded plugin sections; errors name the key.
    pub fn compile(
        registry: &Registry,
        sections: &BTreeMap<String, serde_json::Value>,
    ) -> Result<Vec<LivePlugin>, String> {
        if let Some(id) = sections.keys().find(|id| registry.index_of(id).is_none()) {
            return Err(format!("`plugins.{id}`: no plugin with id `{id}` is linked into this binary"));
        }
        let empty = serde_json::Value::Object(serde_json::Map::new());
        registry
            .manifests()
            .iter()
            .map(|m| {
                let mut section = sections.get(m.id).unwrap_or(&empty).clone();
                host_keys(m, &mut section).map(|(enabled, policy)| LivePlugin {
                    enabled,
                    policy,
                    override_reason: None,
                })
            })
            .collect()
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
