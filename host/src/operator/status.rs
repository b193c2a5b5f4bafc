//! `vox-host rollout status` as a person reads it: the config as the file
//! says, then what the running host applied (its status file).

use std::time::Duration;

use crate::rollout::status::FRESH;

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
