//! Automatic rollback: the host watches each canary's candidate — handler
//! failures, failures the plugin reports (a list not delivered, a delete that
//! left its file), and its error rate against stable's — and switches the
//! candidate off by itself, keeping that override across restarts.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::health::Totals;
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

/// Evaluates a plugin whenever a failure is reported, and every plugin every 10 s.
pub async fn watch(runtime: Arc<Runtime>, mut failures: mpsc::Receiver<usize>) {
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
            match tokio::task::spawn_blocking(move || rt.writer.trip(idx, &reason)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "automatic rollback could not write its override"),
                Err(e) => tracing::error!(error = %e, "automatic rollback task failed"),
            }
        }
    }
}
