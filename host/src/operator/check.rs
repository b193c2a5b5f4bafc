//! `vox-host check-config`: the plugin table an operator reads to see what is
//! linked, switched on and routed where.

use std::fmt::Write;

use crate::registry::load::Checked;

/// One line per plugin: id, on/off, versions (the configured one starred),
/// commands, callback prefixes and steps (with time-to-live).
pub fn plugin_table(checked: &Checked) -> String {
    let header = ["PLUGIN", "ON", "VERSIONS", "ROLLOUT", "COMMANDS", "CALLBACK PREFIXES", "STEPS"];
    let mut rows: Vec<[String; 7]> = Vec::new();
    for p in &checked.plugins {
        let m = p.manifest;
        let versions = m
            .versions
            .iter()
            .map(|v| {
                let star = if Some(v.name) == p.policy.configured { "*" } else { "" };
                let off = if p.policy.is_enabled(v.name) { "" } else { "(off)" };
                format!("{}{star}{off}", v.name)
            })
            .collect::<Vec<_>>()
            .join(",");
        let commands = m.commands.iter().map(|c| format!("/{}", c.name)).collect::<Vec<_>>().join(" ");
        let prefixes = m
            .all_prefixes()
            .map(|(v, p)| match v {
                Some(v) => format!("{p}({v})"),
                None => p.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        let steps = m
            .all_steps()
            .map(|(v, s)| {
                let ttl = s.ttl.map(|t| format!(" ttl={}s", t.as_secs())).unwrap_or_default();
                match v {
                    Some(v) => format!("{}({v}{ttl})", s.name),
                    None if ttl.is_empty() => s.name.to_owned(),
                    None => format!("{}({})", s.name, ttl.trim()),
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        let on = if p.enabled { "yes" } else { "no" };
        let rollout = p.policy.rollout.as_ref().map(|r| {
            let kill = if r.kill { " KILL" } else { "" };
            format!(
                "{}→{} {}% allow={} deny={}{kill}",
                r.stable,
                r.candidate,
                r.percent,
                r.allow().len(),
                r.deny().len()
            )
        });
        rows.push([
            m.id.to_owned(),
            on.to_owned(),
            or_dash(versions),
            rollout.unwrap_or_else(|| "-".to_owned()),
            or_dash(commands),
            or_dash(prefixes),
            or_dash(steps),
        ]);
    }
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                let pad = w - cell.chars().count();
                let _ = write!(l, "{cell}{}  ", " ".repeat(pad));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&header.map(str::to_owned));
    for row in &rows {
        line(row);
    }
    out
}

fn or_dash(s: String) -> String {
    if s.is_empty() { "-".to_owned() } else { s }
}
