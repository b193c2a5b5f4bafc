//! The one "started" line, at info, once the host takes updates: the binary's
//! version, the config generation, each plugin with what it serves, the
//! addresses it listens on — so a deploy script or an operator can wait for
//! that line and read off what came up.

use std::fmt::Write;
use std::net::SocketAddr;

use super::Runtime;

/// Logs "started" for `mode` (`polling` or `webhook`, with its address).
pub fn log(runtime: &Runtime, mode: &'static str, webhook: Option<SocketAddr>) {
    let live = runtime.live();
    let manifests = runtime.dispatch.registry.manifests();
    let mut plugins = String::new();
    for (manifest, plugin) in manifests.iter().zip(&live.plugins) {
        if !plugins.is_empty() {
            plugins.push(' ');
        }
        plugins.push_str(manifest.id);
        let policy = &plugin.policy;
        if !plugin.enabled {
            plugins.push_str("=off");
        } else if let Some(r) = policy.rollout.as_ref().filter(|_| plugin.override_reason.is_none()) {
            let _ = write!(plugins, "={}+{}@{}%", r.stable, r.candidate, r.percent);
            if r.kill {
                plugins.push_str("(killed)");
            }
        } else if let Some(r) = policy.rollout.as_ref() {
            let _ = write!(plugins, "={}(rolled back)", r.stable);
        } else if let Some(v) = policy.configured {
            let _ = write!(plugins, "={v}");
        }
    }
    let ops = runtime.ops.addr().map(|a| a.to_string());
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        generation = live.generation,
        plugins = %plugins,
        mode,
        ops_listen = ops.as_deref().unwrap_or("off"),
        webhook_listen = webhook.map(|a| a.to_string()).as_deref().unwrap_or("none"),
        "started"
    );
}
