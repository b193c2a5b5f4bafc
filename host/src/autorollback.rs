//! Automatic rollback: the host watches each canary's candidate — handler
//! failures, failures the plugin reports (a list not delivered, a delete that
//! left its file), and its error rate against stable's — and switches the
//! candidate off by itself, keeping that override across restarts.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::health::Totals;
use crate::live::LiveConfig;
use crate::overrides::{self, Override};
use crate::runtime::Runtime;

/// How often error rates are compared even without new failures.
const EVERY: Duration = Duration::from_secs(10);

/// Why the candidate of plugin `idx` should be switched off now, if it should.
pub fn verdict(runtime: &Runtime, idx: usize) -> Option<String> {
    let live = runtime.live();
    let p = live.plugins.get(idx)?;
    let r = p.policy.rollout.as_ref()?;
    if !r.auto.enabled || r.kill || p.override_reason.is_some() {
        return None;
    }
    let now = runtime.now_secs();
    let w = r.auto.window_secs;
    let cand: Totals = runtime.health.totals(idx, r.candidate, w, now);
    let stable: Totals = runtime.health.totals(idx, r.stable, w, now);
    if cand.critical > 0 {
        return Some(format!(
            "{} critical failure(s) reported by {} in the last {w} s (a list not delivered or a delete that left its file)",
            cand.critical, r.candidate
        ));
    }
    if cand.failed >= r.auto.max_failures {
        return Some(format!(
            "{} handler failures (errors or panics) of {} in the last {w} s",
            cand.failed, r.candidate
        ));
    }
    if cand.served >= r.auto.min_sample
        && cand.error_rate() - stable.error_rate() > r.auto.max_error_rate_delta
    {
        return Some(format!(
            "error rate of {} {:.1}% vs {} {:.1}% over the last {w} s ({} and {} updates)",
            r.candidate,
            cand.error_rate() * 100.0,
            r.stable,
            stable.error_rate() * 100.0,
            cand.served,
            stable.served
        ));
    }
    None
}

/// Switches the candidate of plugin `idx` off: the override file first (it
/// survives restarts), then the live config, then the audit log. Blocking.
pub fn trip(runtime: &Runtime, idx: usize, reason: &str) -> std::io::Result<()> {
    let _one_at_a_time = runtime.trip_lock.lock().unwrap_or_else(|p| p.into_inner());
    let current = runtime.live();
    let Some(p) = current.plugins.get(idx) else { return Ok(()) };
    let Some(r) = p.policy.rollout.as_ref().filter(|r| !r.kill) else { return Ok(()) };
    let id = runtime.registry.manifests()[idx].id;
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut all = overrides::load(&runtime.override_path);
    all.insert(id.to_owned(), Override { candidate: r.candidate.to_owned(), reason: reason.to_owned(), at });
    overrides::save(&runtime.override_path, &all)?;

    let mut plugins = current.plugins.clone();
    LiveConfig::apply_overrides(&runtime.registry, &mut plugins, &all);
    let next = LiveConfig { generation: current.generation + 1, plugins };
    let audit = runtime.data_dir.join(crate::reload::AUDIT_FILE);
    if let Err(e) =
        crate::reload::append_audit(&audit, &runtime.registry, &current, &next, Some("auto_rollback"))
    {
        tracing::error!(error = %e, "could not append the automatic rollback to the audit log");
    }
    runtime.live.store(Arc::new(next));
    runtime.rollbacks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::error!(
        plugin = id,
        candidate = r.candidate,
        reason,
        override_file = %runtime.override_path.display(),
        "AUTOMATIC ROLLBACK: the candidate is switched off for everyone until an operator clears the override \
         (vox-host rollout clear-override)"
    );
    Ok(())
}

/// Evaluates a plugin whenever a failure is reported, and every plugin every 10 s.
pub async fn watch(runtime: Arc<Runtime>, mut failures: mpsc::UnboundedReceiver<usize>) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        let candidates: Vec<usize> = tokio::select! {
            idx = failures.recv() => match idx {
                Some(idx) => vec![idx],
                None => return,
            },
            _ = tick.tick() => (0..runtime.registry.manifests().len()).collect(),
        };
        for idx in candidates {
            let Some(reason) = verdict(&runtime, idx) else { continue };
            let rt = Arc::clone(&runtime);
            match tokio::task::spawn_blocking(move || trip(&rt, idx, &reason)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "automatic rollback could not write its override"),
                Err(e) => tracing::error!(error = %e, "automatic rollback task failed"),
            }
        }
    }
}
