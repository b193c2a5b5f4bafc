//! Automatic rollback: the host watches each canary's candidate — handler
//! failures, failures the plugin reports (a list not delivered, a delete that
//! left its file), and its error rate against stable's — and switches the
//! candidate off by itself, keeping that override across restarts.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use vox_plugin::Clock;

use super::canary::{Canary, Totals};
use super::policy::Rollout;
use super::writer::LiveWriter;
use crate::registry::{PluginIdx, Registry};

/// How often error rates are compared even without new failures.
const EVERY: Duration = Duration::from_secs(10);

/// What the automatic rollback reads and whom it asks to act.
pub struct Watcher {
    /// The live config's writer: it reads the live config, and trips through it.
    pub writer: Arc<LiveWriter>,
    /// Each candidate's recent failures.
    pub canary: Arc<Canary>,
    /// The host's clock and its start (the windows count seconds since then).
    pub clock: Clock,
    /// When the windows' clock started.
    pub epoch: std::time::Instant,
    /// The plugins to watch.
    pub registry: Arc<Registry>,
    /// Redis and the key prefix when the windows are every replica's.
    pub shared: Option<(redis::aio::ConnectionManager, String)>,
}

impl Watcher {
    fn now_secs(&self) -> u64 {
        self.clock.now().saturating_duration_since(self.epoch).as_secs()
    }
}

/// The rollout of plugin `idx` when its automatic rollback is armed.
fn armed(w: &Watcher, idx: PluginIdx) -> Option<Rollout> {
    let live = w.writer.live().load();
    let p = live.plugins.get(idx.position())?;
    let r = p.policy.rollout.as_ref()?;
    (r.auto.enabled && !r.kill && p.override_reason.is_none()).then(|| r.clone())
}

/// Why the candidate of plugin `idx` should be switched off now, if it should
/// (this process's windows).
pub fn verdict(w: &Watcher, idx: PluginIdx) -> Option<String> {
    let r = armed(w, idx)?;
    let (now, window) = (w.now_secs(), r.auto.window_secs);
    judge(&r, w.canary.totals(idx, r.candidate, window, now), w.canary.totals(idx, r.stable, window, now))
}

/// [`verdict`] over every replica's windows in Redis (this replica's flushed first).
async fn shared_verdict(
    w: &Watcher,
    idx: PluginIdx,
    conn: &mut redis::aio::ConnectionManager,
    prefix: &str,
) -> redis::RedisResult<Option<String>> {
    let Some(r) = armed(w, idx) else { return Ok(None) };
    w.canary.flush(conn, prefix).await?;
    let window = r.auto.window_secs;
    let cand = w.canary.shared_totals(conn, prefix, idx, r.candidate, window).await?;
    let stable = w.canary.shared_totals(conn, prefix, idx, r.stable, window).await?;
    Ok(judge(&r, cand, stable))
}

/// The triggers, over the candidate's and stable's totals.
fn judge(r: &Rollout, cand: Totals, stable: Totals) -> Option<String> {
    let window = r.auto.window_secs;
    if cand.critical > 0 {
        return Some(format!(
            "{} critical failure(s) reported by {} in the last {window} s (a list not delivered or a delete that left its file)",
            cand.critical, r.candidate
        ));
    }
    if cand.failed >= r.auto.max_failures {
        return Some(format!(
            "{} handler failures (errors or panics) of {} in the last {window} s",
            cand.failed, r.candidate
        ));
    }
    if cand.served >= r.auto.min_sample
        && cand.error_rate() - stable.error_rate() > r.auto.max_error_rate_delta
    {
        return Some(format!(
            "error rate of {} {:.1}% vs {} {:.1}% over the last {window} s ({} and {} updates)",
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
pub async fn watch(w: Arc<Watcher>, mut failures: mpsc::Receiver<PluginIdx>) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        let candidates: Vec<PluginIdx> = tokio::select! {
            idx = failures.recv() => match idx {
                Some(idx) => vec![idx],
                None => return,
            },
            _ = tick.tick() => w.registry.indices().collect(),
        };
        for idx in candidates {
            let reason = match &w.shared {
                None => verdict(&w, idx),
                Some((conn, prefix)) => {
                    let mut conn = conn.clone();
                    match shared_verdict(&w, idx, &mut conn, prefix).await {
                        Ok(reason) => reason,
                        Err(e) => {
                            // Redis away: judge this replica's own share rather than nothing.
                            tracing::warn!(error = %e, "shared canary windows unavailable; judging this replica's");
                            verdict(&w, idx)
                        }
                    }
                }
            };
            let Some(reason) = reason else { continue };
            let writer = Arc::clone(&w.writer);
            match tokio::task::spawn_blocking(move || writer.trip(idx, &reason)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "automatic rollback could not write its override"),
                Err(e) => tracing::error!(error = %e, "automatic rollback task failed"),
            }
        }
    }
}
