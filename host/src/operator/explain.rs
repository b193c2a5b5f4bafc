//! `vox-host rollout explain <user>`: which version each versioned plugin
//! would serve this user under a config, and why (no open dialogue assumed).

use std::fmt::Write;

use crate::registry::load::CheckedPlugin;
use crate::rollout::live::LivePlugin;

/// One line per versioned plugin: `my_reports: v2 (allow)`.
pub fn explain(plugins: &[CheckedPlugin], live: &[LivePlugin], user: i64) -> String {
    let mut out = String::new();
    for (p, l) in plugins.iter().zip(live) {
        if p.manifest.versions.is_empty() {
            continue;
        }
        let decision = l.policy.decide(user, None);
        let version = decision.version.unwrap_or("none — the section is unavailable");
        let off = if l.enabled { "" } else { " [plugin switched off]" };
        let bucket = l
            .policy
            .rollout
            .as_ref()
            .map(|r| {
                format!(
                    ", bucket {} of {}, {}% selected",
                    crate::rollout::policy::bucket(&r.salt, user),
                    crate::rollout::policy::BUCKETS,
                    r.percent
                )
            })
            .unwrap_or_default();
        let _ = writeln!(out, "{}: {version} ({}{bucket}){off}", p.manifest.id, decision.reason);
    }
    if out.is_empty() {
        out.push_str("no linked plugin declares versions\n");
    }
    out
}
