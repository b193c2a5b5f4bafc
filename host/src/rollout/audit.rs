//! The audit log, `data_dir/rollout-audit.jsonl`: one JSON line per plugin whose
//! live settings a change moved (time, generation, old, new, cause). Only the
//! live config's writer appends, under its lock, before it swaps the change in.

use std::path::Path;

use super::live::LiveConfig;
use crate::registry::Registry;

/// The audit log's file name inside `host.data_dir`.
pub const AUDIT_FILE: &str = "rollout-audit.jsonl";

/// Appends one JSON line per plugin whose live settings changed (time,
/// generation, old, new, and what caused it when not a config edit); returns
/// the lines.
pub fn append_audit(
    audit: &Path,
    registry: &Registry,
    old: &LiveConfig,
    new: &LiveConfig,
    cause: Option<&str>,
) -> std::io::Result<String> {
    use std::io::Write;
    if let Some(dir) = audit.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut lines = String::new();
    for (i, manifest) in registry.manifests().iter().enumerate() {
        let (before, after) = (&old.plugins[i], &new.plugins[i]);
        if before == after {
            continue;
        }
        let line = serde_json::json!({
            "time": time,
            "generation": new.generation,
            "plugin": manifest.id,
            "cause": cause.unwrap_or("config"),
            "old": before.describe(),
            "new": after.describe(),
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(audit)?;
    file.write_all(lines.as_bytes())?;
    file.sync_data()?;
    Ok(lines)
}
