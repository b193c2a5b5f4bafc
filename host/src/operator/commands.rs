//! The operator's rollout commands (`vox-host rollout set|allow|deny|enable|
//! disable|kill|unkill`): edit the config file in place (comments kept,
//! atomically), refuse an edit that would make it invalid, and wait until the
//! running host's status file shows the edited text live (its stamp), so a
//! confirmation is never printed for a change the host did not apply.

use std::path::Path;
use std::time::{Duration, Instant};

use vox_plugin::host::Registration;

use crate::config::Sources;
use crate::operator::edit::{self as config_edit, Edit, EditValue};
use crate::registry::load as plugins;
use crate::rollout::live::{LiveConfig, file_stamp};
use crate::rollout::status::{FRESH, STATUS_FILE};

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
    /// Whether a running host was seen before the edit (a fresh status file).
    pub host_running: bool,
    /// Whether the file changed (an edit to the value already there changes nothing).
    pub changed: bool,
    /// The edited text's stamp: the running host reports it once this text is live.
    pub stamp: String,
}

fn key(plugin: &str, rest: &[&str]) -> Vec<String> {
    ["plugins", plugin].iter().chain(rest).map(|s| (*s).to_owned()).collect()
}

/// Edits the config file of `sources` for `change` on `plugin`, validating the
/// result in memory exactly as the host will read it (host keys and every
/// plugin's own keys; nothing is built, no probe file is written).
pub fn apply(
    sources: &Sources,
    registrations: &[&'static Registration],
    plugin: &str,
    change: &Change,
) -> Result<Edited, String> {
    let Some(config) = sources.file.as_deref() else {
        return Err("rollout changes edit the config file: give it with --config FILE or VOX_CONFIG".into());
    };
    let current = sources.load().map_err(|e| e.0)?;
    let checked =
        plugins::check(registrations, &current.plugins, &current.setup()).map_err(|e| e.to_string())?;
    let Some(idx) = checked.registry.index_of(plugin) else {
        return Err(format!("no plugin `{plugin}` is linked into this binary"));
    };
    let manifest = checked.registry.manifest(idx);
    let live = LiveConfig::from_checked(&checked.plugins);
    let mut edits = Vec::new();
    let needs_rollout =
        matches!(change, Change::Set(_) | Change::Allow(_) | Change::Deny(_) | Change::Kill | Change::Unkill);
    if needs_rollout && live[idx.position()].policy.rollout.is_none() {
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

    let host_running = running_generation(&current.host.data_dir).is_some();
    // The edited text is checked exactly as the host will read it before it replaces the file.
    let check = |edited: &str| {
        let checked = sources
            .load_text(edited)
            .map_err(|e| e.0)
            .and_then(|s| plugins::check(registrations, &s.plugins, &s.setup()).map_err(|e| e.to_string()));
        checked.map(|_| ()).map_err(|e| format!("refused, the config would be invalid: {e}"))
    };
    let before = std::fs::read_to_string(config).ok();
    let after = config_edit::edit_file_checked(config, &edits, check).map_err(|e| e.to_string())?;
    Ok(Edited { host_running, changed: before.as_deref() != Some(after.as_str()), stamp: file_stamp(&after) })
}

/// The running host's generation, if its status file is fresh.
pub fn running_generation(data_dir: &Path) -> Option<u64> {
    running_status(data_dir)?["generation"].as_u64()
}

/// The running host's status, if its status file is fresh.
pub fn running_status(data_dir: &Path) -> Option<serde_json::Value> {
    let path = data_dir.join(STATUS_FILE);
    let age = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?.elapsed().ok()?;
    if age > FRESH {
        return None;
    }
    serde_json::from_slice(&std::fs::read(&path).ok()?).ok()
}

/// Waits until the running host's status satisfies `live` (a change is live
/// there); returns how long it took and that status.
pub fn wait_live(
    data_dir: &Path,
    timeout: Duration,
    live: impl Fn(&serde_json::Value) -> bool,
) -> Option<(Duration, serde_json::Value)> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if let Some(status) = running_status(data_dir).filter(|s| live(s)) {
            return Some((started.elapsed(), status));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    None
}
