//! Check 1: the host starts without errors — the process stays up, it polls
//! the fake Bot API, `GET /healthz` answers 200 with `"status":"ok"`, and its
//! log has no ERROR-level line.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::checks::Ctx;
use crate::health;
use crate::host::HostProcess;
use crate::logscan;
use crate::outcome::Verdict;

/// How long a host may take to start polling (a debug build opening a large index).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `/healthz` may take to turn 200 once polling works.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// Waits for the host to be up, then judges check 1.
pub async fn check(ctx: &Ctx, host: &mut HostProcess, log: &Path, ops: SocketAddr) -> Verdict {
    let started = Instant::now();
    let polled = loop {
        if let Some(status) = host.exited() {
            return Err(format!(
                "expected a running host, but it exited with {status} before polling; log: {}",
                last_lines(log, 3)
            ));
        }
        let found =
            ctx.api.wait_call(0, |c| c.method == "getUpdates" && c.is_ok(), Duration::from_millis(200)).await;
        if found.is_some() {
            break started.elapsed();
        }
        if started.elapsed() > START_TIMEOUT {
            return Err(format!(
                "expected getUpdates within {START_TIMEOUT:?}, the host never polled; log: {}",
                last_lines(log, 3)
            ));
        }
    };
    let health = healthy(ops).await?;
    if let Some(status) = host.exited() {
        return Err(format!("expected the host to keep running, but it exited with {status}"));
    }
    let errors = logscan::errors(&logscan::read(log));
    if let Some(first) = errors.first() {
        return Err(format!(
            "expected no ERROR lines in the host's log, found {}: {}",
            errors.len(),
            logscan::brief(first)
        ));
    }
    Ok(format!("polling after {:.1} s, {health}, no ERROR lines", polled.as_secs_f64()))
}

/// Polls `GET /healthz` until it answers 200 with `"status":"ok"`.
async fn healthy(addr: SocketAddr) -> Result<String, String> {
    let started = Instant::now();
    loop {
        let last = match health::get(addr, "/healthz", Duration::from_secs(2)).await {
            Ok(answer) if answer.status == 200 => {
                let json: serde_json::Value = serde_json::from_str(&answer.body)
                    .map_err(|e| format!("GET /healthz answered 200 but not JSON ({e}): {}", answer.body))?;
                if json["status"] != "ok" {
                    return Err(format!(
                        "GET /healthz answered 200 without \"status\":\"ok\": {}",
                        answer.body
                    ));
                }
                return Ok(format!("/healthz 200 {}", answer.body.trim()));
            }
            Ok(answer) => format!("{} {}", answer.status, answer.body.trim()),
            Err(e) => e,
        };
        if started.elapsed() > HEALTH_TIMEOUT {
            return Err(format!(
                "expected GET /healthz on {addr} to answer 200 once polling works, last answer: {last}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn last_lines(log: &Path, n: usize) -> String {
    let text = logscan::read(log);
    let lines: Vec<String> = text.lines().rev().take(n).map(logscan::brief).collect();
    if lines.is_empty() {
        "(empty)".to_owned()
    } else {
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }
}
