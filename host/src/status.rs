//! The running host's rollout status, written to `data_dir/rollout-status.json`
//! every second and right after a config change, so `vox-host rollout status`
//! and the rollout scripts can see what the host actually applied.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::runtime::Runtime;

/// The status file's name inside `host.data_dir`.
pub const STATUS_FILE: &str = "rollout-status.json";
/// How often the file is rewritten.
const EVERY: Duration = Duration::from_secs(1);

/// The status as JSON.
pub fn snapshot(runtime: &Runtime) -> serde_json::Value {
    let live = runtime.live();
    let stats = runtime.reload_stats();
    let plugins: Vec<serde_json::Value> = runtime
        .registry
        .manifests()
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.versions.is_empty())
        .map(|(i, m)| {
            let served: serde_json::Map<String, serde_json::Value> = runtime
                .served
                .counts(i)
                .into_iter()
                .map(|c| (c.version.to_owned(), serde_json::json!({"users": c.users, "updates": c.updates})))
                .collect();
            serde_json::json!({"id": m.id, "config": live.plugins[i].describe(), "served": served})
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
pub async fn write_loop(runtime: Arc<Runtime>, path: PathBuf) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut written: Option<Arc<crate::live::LiveConfig>> = None;
    let mut since = Duration::ZERO;
    loop {
        tick.tick().await;
        since += Duration::from_millis(100);
        // A new live config (a new generation, or the same settings from a new
        // file text) is written at once: the rollout CLI waits for it.
        let live = runtime.live.load_full();
        if written.as_ref().is_some_and(|w| Arc::ptr_eq(w, &live)) && since < EVERY {
            continue;
        }
        since = Duration::ZERO;
        written = Some(live);
        let status = snapshot(&runtime);
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

/// `vox-host rollout status`: the config as the file says, then what the
/// running host applied (from its status file), with served users per version.
pub fn render(
    config: &[(&'static str, serde_json::Value)],
    status: Option<&serde_json::Value>,
    age: Option<Duration>,
) -> String {
    use std::fmt::Write;
    let mut out = String::from("config file:\n");
    for (id, c) in config {
        let _ = writeln!(out, "  {id}: {}", one_line(c));
    }
    let Some(status) = status else {
        out.push_str("running host: none found (no status file in the data directory)\n");
        return out;
    };
    let age = age.unwrap_or_default();
    let stale = if age > FRESH {
        format!(" — STALE, last written {}s ago: is the host running?", age.as_secs())
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "running host: pid {}, generation {}, changes applied {}, refused {}{stale}",
        status["pid"], status["generation"], status["reloads_applied"], status["reloads_failed"]
    );
    if let Some(e) = status["last_reload_error"].as_str() {
        let _ = writeln!(out, "  last refused change: {e}");
    }
    for p in status["plugins"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "  {}: {}", p["id"].as_str().unwrap_or("?"), one_line(&p["config"]));
        if let Some(served) = p["served"].as_object() {
            for (version, counts) in served {
                let _ = writeln!(
                    out,
                    "    {version}: {} users, {} updates since start",
                    counts["users"], counts["updates"]
                );
            }
        }
    }
    out
}

fn one_line(c: &serde_json::Value) -> String {
    let versions: Vec<String> = c["versions"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(v, on)| if on.as_bool() == Some(false) { format!("{v}(off)") } else { v.clone() })
                .collect()
        })
        .unwrap_or_default();
    let mut line = format!("version {} [{}]", c["version"].as_str().unwrap_or("-"), versions.join(", "));
    if !c["enabled"].as_bool().unwrap_or(true) {
        line.push_str(" SWITCHED OFF");
    }
    if let Some(reason) = c["override"].as_str() {
        line.push_str(&format!(
            "; AUTOMATICALLY ROLLED BACK ({reason}) — clear with `vox-host rollout clear-override`"
        ));
    }
    let r = &c["rollout"];
    if r.is_object() {
        let _ = std::fmt::Write::write_fmt(
            &mut line,
            format_args!(
                "; rollout {}→{} {}%, allow {}, deny {}, salt {}{}",
                r["stable"].as_str().unwrap_or("?"),
                r["candidate"].as_str().unwrap_or("?"),
                r["percent"].as_f64().unwrap_or(0.0),
                r["allow"],
                r["deny"],
                r["salt"],
                if r["kill"].as_bool() == Some(true) { ", KILL SWITCH ON" } else { "" }
            ),
        );
    }
    line
}
