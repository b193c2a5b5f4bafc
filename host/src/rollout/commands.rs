//! The operator's rollout commands (`vox-host rollout set|allow|deny|enable|
//! disable|kill|unkill`): edit the config file in place (comments kept,
//! atomically), refuse an edit that would make it invalid, and wait until the
//! running host's status file shows the change applied.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::config::Settings;
use crate::config_edit::{self, Edit, EditValue};
use crate::live::LiveConfig;
use crate::registry::Registry;
use crate::status::{FRESH, STATUS_FILE};

/// One operator change.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// `rollout.percent`.
    Set(f64),
    /// Add to `rollout.allow` (and take out of `deny`).
    Allow(i64),
    /// Add to `rollout.deny` (and take out of `allow`).
    Deny(i64),
    /// `versions.<v> = true`.
    Enable(String),
    /// `versions.<v> = false`.
    Disable(String),
    /// `rollout.kill = true`.
    Kill,
    /// `rollout.kill = false`.
    Unkill,
}

/// What an applied edit looks like from outside.
#[derive(Debug)]
pub struct Edited {
    /// The running host's generation before the edit, if a host is running.
    pub generation_before: Option<u64>,
    /// Whether the file changed (an edit to the value already there changes nothing).
    pub changed: bool,
}

fn key(plugin: &str, rest: &[&str]) -> Vec<String> {
    ["plugins", plugin].iter().chain(rest).map(|s| (*s).to_owned()).collect()
}

/// Edits `config` for `change` on `plugin`, validating the result as the host would.
pub fn apply(
    config: &Path,
    env: Vec<(String, String)>,
    registry: &Registry,
    plugin: &str,
    change: &Change,
) -> Result<Edited, String> {
    let Some(idx) = registry.index_of(plugin) else {
        return Err(format!("no plugin `{plugin}` is linked into this binary"));
    };
    let manifest = registry.manifests()[idx];
    let current = Settings::load(Some(config), env.clone()).map_err(|e| e.0)?;
    let live = LiveConfig::compile(registry, &current.plugins)?;
    let mut edits = Vec::new();
    let needs_rollout =
        matches!(change, Change::Set(_) | Change::Allow(_) | Change::Deny(_) | Change::Kill | Change::Unkill);
    if needs_rollout && live[idx].policy.rollout.is_none() {
        // A first canary: stable is the first declared version, the candidate the second.
        let [stable, candidate, ..] = manifest.versions else {
            return Err(format!("plugin `{plugin}` declares fewer than two versions: nothing to roll out"));
        };
        edits.push(Edit::Set {
            path: key(plugin, &["rollout", "stable"]),
            value: EditValue::Str(stable.name.into()),
        });
        edits.push(Edit::Set {
            path: key(plugin, &["rollout", "candidate"]),
            value: EditValue::Str(candidate.name.into()),
        });
    }
    match change {
        Change::Set(p) => {
            let value = if p.fract() == 0.0 && p.abs() < 1e15 {
                EditValue::Int(*p as i64)
            } else {
                EditValue::Float(*p)
            };
            edits.push(Edit::Set { path: key(plugin, &["rollout", "percent"]), value });
        }
        Change::Allow(u) => {
            edits.push(Edit::Remove { path: key(plugin, &["rollout", "deny"]), value: *u });
            edits.push(Edit::Add { path: key(plugin, &["rollout", "allow"]), value: *u });
        }
        Change::Deny(u) => {
            edits.push(Edit::Remove { path: key(plugin, &["rollout", "allow"]), value: *u });
            edits.push(Edit::Add { path: key(plugin, &["rollout", "deny"]), value: *u });
        }
        Change::Enable(v) | Change::Disable(v) => {
            let on = matches!(change, Change::Enable(_));
            edits.push(Edit::Set { path: key(plugin, &["versions", v]), value: EditValue::Bool(on) });
        }
        Change::Kill | Change::Unkill => {
            let on = matches!(change, Change::Kill);
            edits.push(Edit::Set { path: key(plugin, &["rollout", "kill"]), value: EditValue::Bool(on) });
        }
    }

    let generation_before = running_generation(&current.host.data_dir);
    // The edited text is checked exactly as the host will read it before it replaces the file.
    let check = |edited: &str| {
        let probe = config.with_extension("toml.check");
        std::fs::write(&probe, edited).map_err(|e| format!("cannot write `{}`: {e}", probe.display()))?;
        let checked = Settings::load(Some(&probe), env)
            .map_err(|e| e.0)
            .and_then(|s| LiveConfig::compile(registry, &s.plugins).map(|_| ()));
        let _ = std::fs::remove_file(&probe);
        checked.map_err(|e| format!("refused, the config would be invalid: {e}"))
    };
    let before = std::fs::read_to_string(config).ok();
    let after = config_edit::edit_file_checked(config, &edits, check).map_err(|e| e.to_string())?;
    Ok(Edited { generation_before, changed: before.as_deref() != Some(after.as_str()) })
}

/// The running host's generation, if its status file is fresh.
pub fn running_generation(data_dir: &Path) -> Option<u64> {
    let path = data_dir.join(STATUS_FILE);
    let age = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?.elapsed().ok()?;
    if age > FRESH {
        return None;
    }
    let status: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    status["generation"].as_u64()
}

/// Waits until the running host's generation passes `before`; returns how long it took.
pub fn wait_applied(data_dir: &Path, before: u64, timeout: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if running_generation(data_dir).is_some_and(|g| g > before) {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    None
}
