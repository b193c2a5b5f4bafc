//! The live config's one writer. Config reload and automatic rollback both go
//! through [`LiveWriter`], which holds one lock over everything a change
//! touches — the file's sections as last applied, the overrides, the audit
//! append, the swap and the generation — and rebuilds every new live config
//! from (config file, overrides), never by patching the current value. Two
//! writers interleaving can therefore neither lose an operator's edit nor undo
//! a rollback.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use vox_plugin::Setup;

use super::live::{Live, LiveConfig, LivePlugin, file_stamp};
use crate::config::Sources;
use crate::metrics::{Collect, Kind, Scraped};
use crate::registry::load::{self as plugins, Checked, LoadedPlugin};
use crate::registry::{PluginIdx, Registry};
use crate::rollout::overrides::{self, Override, Overrides};

pub use super::audit::{AUDIT_FILE, append_audit};

/// What reloading has done so far, for status output and metrics.
#[derive(Debug, Default)]
pub struct ReloadStats {
    /// Changes applied.
    pub applied: AtomicU64,
    /// Files refused.
    pub failed: AtomicU64,
    /// The last refusal's message, until a later change applies.
    pub last_error: Mutex<Option<String>>,
}

/// The result of one reload.
#[derive(Debug, PartialEq, Eq)]
pub enum Reloaded {
    /// Applied as this generation.
    Applied(u64),
    /// Only plugins' own keys changed, and the plugins took them live.
    Reconfigured,
    /// Valid, but nothing live changed.
    Unchanged,
}

/// What the writer owns, behind its one lock.
struct Owned {
    /// The config file's part, compiled, as last applied (no overrides).
    file: Vec<LivePlugin>,
    /// Each plugin's own keys as last applied (what `reconfigure` last got).
    sections: Vec<serde_json::Value>,
    /// The stamp of the file text last applied.
    stamp: Option<String>,
}

/// The one writer of the live config (see the module docs).
pub struct LiveWriter {
    owned: Mutex<Owned>,
    live: Live,
    registry: Arc<Registry>,
    plugins: Arc<[LoadedPlugin]>,
    setup: Setup,
    /// The layers the host started from; `None`: no file is watched.
    sources: Option<Sources>,
    overrides: overrides::Source,
    audit: PathBuf,
    stats: Arc<ReloadStats>,
    rollbacks: AtomicU64,
}

/// Where a writer keeps its files and what it rebuilds from.
pub struct WriterSetup {
    /// The layers to re-read on reload (`None`: no file is watched).
    pub sources: Option<Sources>,
    /// What plugin constructors and checks are told.
    pub setup: Setup,
    /// Where automatic rollbacks are kept (`rollout-override.json`, or Redis).
    pub overrides: overrides::Source,
    /// The data directory (the audit log lives there).
    pub data_dir: PathBuf,
    /// The stamp of the file text the host started from.
    pub stamp: Option<String>,
}

impl LiveWriter {
    /// Generation 1 from the sections the host was built from and the overrides
    /// standing on disk.
    pub fn new(checked: &Checked, plugins: Arc<[LoadedPlugin]>, w: WriterSetup) -> Self {
        let file = LiveConfig::from_checked(&checked.plugins);
        let sections = checked.plugins.iter().map(|p| p.section.clone()).collect();
        let standing = w.overrides.load();
        for (id, o) in &standing {
            tracing::error!(plugin = %id, candidate = %o.candidate, reason = %o.reason, since = %o.at,
                "automatic rollback still in force; clear it with `vox-host rollout clear-override`");
        }
        let initial = rebuild(&checked.registry, &file, &standing, 1, w.stamp.clone());
        Self {
            owned: Mutex::new(Owned { file, sections, stamp: w.stamp }),
            live: Arc::new(ArcSwap::from_pointee(initial)),
            registry: Arc::clone(&checked.registry),
            plugins,
            setup: w.setup,
            sources: w.sources,
            overrides: w.overrides,
            audit: w.data_dir.join(AUDIT_FILE),
            stats: Arc::new(ReloadStats::default()),
            rollbacks: AtomicU64::new(0),
        }
    }

    /// The live config readers load from (cheap).
    pub fn live(&self) -> &Live {
        &self.live
    }

    /// What config reloading has done.
    pub fn stats(&self) -> &Arc<ReloadStats> {
        &self.stats
    }

    /// Automatic rollbacks since start.
    pub fn rollbacks(&self) -> u64 {
        self.rollbacks.load(Ordering::Relaxed)
    }

    /// The override file beside the config (the mirror when shared).
    pub fn override_path(&self) -> &Path {
        self.overrides.path()
    }

    /// Where automatic rollbacks are kept.
    pub fn overrides(&self) -> &overrides::Source {
        &self.overrides
    }

    /// The config file watched, if any.
    pub fn config_path(&self) -> Option<&Path> {
        self.sources.as_ref().and_then(|s| s.file.as_deref())
    }

    fn owned(&self) -> std::sync::MutexGuard<'_, Owned> {
        self.owned.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Re-reads the config file (and the override file) and applies the result
    /// if it is valid; logs and counts either way. Blocking: call off the executor.
    pub fn reload(&self) -> Result<Reloaded, String> {
        let result = self.try_reload();
        let mut last_error = self.stats.last_error.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(Reloaded::Applied(generation)) => {
                self.stats.applied.fetch_add(1, Ordering::Relaxed);
                *last_error = None;
                tracing::info!(generation, "config change applied");
            }
            Ok(Reloaded::Reconfigured) => {
                self.stats.applied.fetch_add(1, Ordering::Relaxed);
                *last_error = None;
                tracing::info!("config change applied (plugins' own keys)");
            }
            Ok(Reloaded::Unchanged) => *last_error = None,
            Err(e) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                *last_error = Some(e.clone());
                tracing::error!(error = %e, "config change refused; the running config stays");
            }
        }
        result
    }

    fn try_reload(&self) -> Result<Reloaded, String> {
        let Some(sources) = &self.sources else { return Ok(Reloaded::Unchanged) };
        let mut owned = self.owned();
        let (settings, text) = sources.load_read().map_err(|e| e.0)?;
        let registrations: Vec<_> = self.plugins.iter().map(|p| p.registration).collect();
        let checked =
            plugins::check(&registrations, &settings.plugins, &self.setup).map_err(|e| e.to_string())?;
        let reconfigured = self.reconfigure(&owned.sections, &checked)?;
        let next = Owned {
            file: LiveConfig::from_checked(&checked.plugins),
            sections: checked.plugins.iter().map(|p| p.section.clone()).collect(),
            stamp: text.as_deref().map(file_stamp),
        };
        let standing = self.overrides.load();
        let published = match self.publish(&next, &standing, None) {
            Ok(published) => published,
            Err(e) => {
                // Not recorded, so not applied: plugins get their old sections back.
                if reconfigured {
                    self.give_back(&next.sections, &owned.sections);
                }
                return Err(format!("audit log `{}`: {e}", self.audit.display()));
            }
        };
        *owned = next;
        Ok(match published {
            Reloaded::Unchanged if reconfigured => Reloaded::Reconfigured,
            other => other,
        })
    }

    /// Hands each plugin whose own keys changed its new section; a plugin that
    /// takes no live change refuses the whole reload naming the keys. A failure
    /// part-way gives the plugins already changed their old sections back.
    /// Returns whether any plugin was changed.
    fn reconfigure(&self, old: &[serde_json::Value], checked: &Checked) -> Result<bool, String> {
        let changed: Vec<usize> =
            (0..checked.plugins.len()).filter(|&i| old.get(i) != Some(&checked.plugins[i].section)).collect();
        for &i in &changed {
            if self.plugins[i].registration.reconfigure.is_none() {
                let id = self.plugins[i].manifest.id;
                let keys = changed_keys(&old[i], &checked.plugins[i].section);
                let keys: Vec<String> = keys.iter().map(|k| format!("`plugins.{id}.{k}`")).collect();
                return Err(format!("needs a restart: {}", keys.join(", ")));
            }
        }
        for (done, &i) in changed.iter().enumerate() {
            let p = &self.plugins[i];
            let Some(apply) = p.registration.reconfigure else { continue };
            if let Err(e) = apply(p.plugin.as_ref(), &checked.plugins[i].section, &self.setup) {
                let now: Vec<serde_json::Value> = (0..old.len())
                    .map(|j| {
                        if changed[..done].contains(&j) {
                            checked.plugins[j].section.clone()
                        } else {
                            old[j].clone()
                        }
                    })
                    .collect();
                self.give_back(&now, old);
                return Err(e.to_string());
            }
            tracing::info!(plugin = p.manifest.id, "plugin config changed live");
        }
        Ok(!changed.is_empty())
    }

    /// Hands every plugin whose section is `now[i]` but was `old[i]` its old
    /// section again (a change that was not applied after all).
    fn give_back(&self, now: &[serde_json::Value], old: &[serde_json::Value]) {
        for (i, q) in self.plugins.iter().enumerate() {
            let (Some(n), Some(o)) = (now.get(i), old.get(i)) else { continue };
            if n == o {
                continue;
            }
            if let Some(undo) = q.registration.reconfigure
                && let Err(e) = undo(q.plugin.as_ref(), o, &self.setup)
            {
                tracing::error!(plugin = q.manifest.id, error = %e, "could not give a plugin its old config back");
            }
        }
    }

    /// Switches the candidate of plugin `idx` off: the override file first (it
    /// survives restarts), then the live config rebuilt from the file's part
    /// and all overrides, then the audit log. Returns whether it tripped (a
    /// candidate already off is left alone). Blocking.
    pub fn trip(&self, idx: PluginIdx, reason: &str) -> std::io::Result<bool> {
        let owned = self.owned();
        let current = self.live.load();
        let Some(r) =
            current.plugins.get(idx.position()).and_then(|p| p.policy.rollout.as_ref()).filter(|r| !r.kill)
        else {
            return Ok(false);
        };
        let id = self.registry.manifest(idx).id;
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut standing = self.overrides.load();
        standing.insert(
            id.to_owned(),
            Override { candidate: r.candidate.to_owned(), reason: reason.to_owned(), at },
        );
        if let Err(e) = self.overrides.save(&standing) {
            // Users come first: applied here even when it cannot be kept (a
            // shared store away); the next reload reads what was kept.
            tracing::error!(error = %e, "could not keep the automatic rollback's override; applied in this process only");
        }
        if let Err(e) = self.publish(&owned, &standing, Some("auto_rollback")) {
            // The rollback protects users; it is applied even when it cannot be recorded.
            tracing::error!(error = %e, "could not append the automatic rollback to the audit log");
            let next =
                rebuild(&self.registry, &owned.file, &standing, current.generation + 1, owned.stamp.clone());
            self.live.store(Arc::new(next));
        }
        self.rollbacks.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            plugin = id,
            candidate = r.candidate,
            reason,
            override_file = %self.overrides.path().display(),
            "AUTOMATIC ROLLBACK: the candidate is switched off for everyone until an operator clears the override \
             (vox-host rollout clear-override)"
        );
        Ok(true)
    }

    /// Rebuilds from (file part, overrides); when that differs from what is
    /// live, records it in the audit log and swaps it in as the next generation.
    /// The caller holds the lock (`owned` is its guard's content).
    fn publish(&self, owned: &Owned, standing: &Overrides, cause: Option<&str>) -> std::io::Result<Reloaded> {
        let current = self.live.load();
        let next =
            rebuild(&self.registry, &owned.file, standing, current.generation + 1, owned.stamp.clone());
        if next.plugins == current.plugins {
            if next.stamp != current.stamp {
                // The same settings from a new text: say so, without a new generation.
                self.live.store(Arc::new(LiveConfig { generation: current.generation, ..next }));
            }
            return Ok(Reloaded::Unchanged);
        }
        // Audit first: a change that cannot be recorded is not applied.
        let lines = append_audit(&self.audit, &self.registry, &current, &next, cause)?;
        self.overrides.audit(&lines);
        let generation = next.generation;
        self.live.store(Arc::new(next));
        Ok(Reloaded::Applied(generation))
    }
}

impl Collect for LiveWriter {
    fn collect(&self, out: &mut Scraped) {
        out.one(
            "vox_config_generation",
            "The live config's generation: 1 at start, +1 per applied change",
            Kind::Gauge,
            self.live.load().generation as f64,
        );
        out.one(
            "vox_config_reloads",
            "Config changes applied without a restart",
            Kind::Counter,
            self.stats.applied.load(Ordering::Relaxed) as f64,
        );
        out.one(
            "vox_config_reload_failures",
            "Config changes refused (the running config was kept)",
            Kind::Counter,
            self.stats.failed.load(Ordering::Relaxed) as f64,
        );
        out.one(
            "vox_rollout_automatic_rollbacks",
            "Candidates switched off by an automatic rollback trigger",
            Kind::Counter,
            self.rollbacks() as f64,
        );
        let live = self.live.load();
        for (manifest, plugin) in self.registry.manifests().iter().zip(&live.plugins) {
            let Some(r) = &plugin.policy.rollout else { continue };
            // The candidate's role is 0 while it serves nobody: killed or rolled back.
            let candidate_serves = plugin.enabled && !r.kill && plugin.override_reason.is_none();
            for (version, role, on) in
                [(r.stable, "stable", true), (r.candidate, "candidate", candidate_serves)]
            {
                out.series(
                    "vox_rollout_version_role",
                    "1 for the canary's stable version and for its candidate while it serves (0 when killed or rolled back), by plugin, version and role",
                    Kind::Gauge,
                    &[("plugin", manifest.id), ("version", version), ("role", role)],
                    if on { 1.0 } else { 0.0 },
                );
            }
        }
    }
}

fn rebuild(
    registry: &Registry,
    file: &[LivePlugin],
    standing: &Overrides,
    generation: u64,
    stamp: Option<String>,
) -> LiveConfig {
    let mut plugins = file.to_vec();
    LiveConfig::apply_overrides(registry, &mut plugins, standing);
    LiveConfig { generation, plugins, stamp }
}

/// The top-level keys that differ between two sections.
fn changed_keys(old: &serde_json::Value, new: &serde_json::Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (a, b) = (old.as_object().unwrap_or(&empty), new.as_object().unwrap_or(&empty));
    let mut keys: Vec<String> =
        a.keys().chain(b.keys()).filter(|k| a.get(*k) != b.get(*k)).cloned().collect();
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests;
