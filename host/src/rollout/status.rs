//! The running host's rollout status, written to `data_dir/rollout-status.json`
//! every second and right after a config change, so `vox-host rollout status`
//! and the rollout scripts can see what the host actually applied.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::registry::Registry;

use super::served::Served;
use super::writer::LiveWriter;

/// The status file's name inside `host.data_dir`.
pub const STATUS_FILE: &str = "rollout-status.json";
/// How often the file is rewritten.
const EVERY: Duration = Duration::from_secs(1);

/// What the status file shows.
pub struct StatusSource {
    /// The live config and what reloading did.
    pub writer: Arc<LiveWriter>,
    /// Users and updates per version.
    pub served: Arc<Served>,
    /// Plugin ids and versions.
    pub registry: Arc<Registry>,
}

/// The status as JSON.
pub fn snapshot(source: &StatusSource) -> serde_json::Value {
    let live = source.writer.live().load();
    let stats = source.writer.stats();
    let plugins: Vec<serde_json::Value> = source
        .registry
        .indices()
        .map(|i| (i, source.registry.manifest(i)))
        .filter(|(_, m)| !m.versions.is_empty())
        .map(|(i, m)| {
            let served: serde_json::Map<String, serde_json::Value> = source
                .served
                .counts(i)
                .into_iter()
                .map(|c| (c.version.to_owned(), serde_json::json!({"users": c.users, "updates": c.updates})))
                .collect();
            serde_json::json!({"id": m.id, "config": live.plugin(i).describe(), "served": served})
        })
        .collect();
    let last_error = stats.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone();
    serde_json::json!({
        "pid": std::process::id(),
        "updated_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "generation": live.generation,
        "config_stamp": live.stamp,
        "reloads_applied": stats.applied.load(Ordering::Relaxed),
        "reloads_failed": stats.failed.load(Ordering::Relaxed),
        "last_reload_error": last_error,
        "plugins": plugins,
    })
}

/// Writes the status file atomically (temp file, rename).
pub fn write_blocking(path: &Path, status: &serde_json::Value) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(status).unwrap_or_default())?;
    std::fs::rename(&tmp, path)
}

/// Rewrites the status every second (and at once when the generation moves) until aborted.
pub async fn write_loop(source: Arc<StatusSource>, path: PathBuf) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut written: Option<Arc<crate::rollout::live::LiveConfig>> = None;
    let mut since = Duration::ZERO;
    loop {
        tick.tick().await;
        since += Duration::from_millis(100);
        // A new live config (a new generation, or the same settings from a new
        // file text) is written at once: the rollout CLI waits for it.
        let live = source.writer.live().load_full();
        if written.as_ref().is_some_and(|w| Arc::ptr_eq(w, &live)) && since < EVERY {
            continue;
        }
        since = Duration::ZERO;
        written = Some(live);
        let status = snapshot(&source);
        let target = path.clone();
        match tokio::task::spawn_blocking(move || write_blocking(&target, &status)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(path = %path.display(), error = %e, "could not write the status file")
            }
            Err(e) => tracing::warn!(error = %e, "status writer task failed"),
        }
    }
}

/// How old a status file may be and still describe a running host.
pub const FRESH: Duration = Duration::from_secs(10);
