//! What the checker prints and leaves behind: each check's line as soon as it
//! is known, the summary (checks, how the host stopped, ERROR lines, run
//! time), and on failure a details file with panics and chat transcripts.

use std::fmt::Write as _;
use std::time::Duration;

use vox_fake_bot_api::FakeBotApi;

use crate::host::Stopped;
use crate::logscan;
use crate::outcome::{self, CHECKS, CheckResult};
use crate::workdir::WorkDir;

/// Prints a check's line and keeps the result.
pub fn emit(results: &mut Vec<CheckResult>, result: CheckResult) {
    println!("{}", result.line());
    results.push(result);
}

/// Everything the summary says.
pub struct Summary<'a> {
    /// The checks, in the order run.
    pub results: &'a [CheckResult],
    /// How the host ended on SIGTERM.
    pub stopped: &'a Stopped,
    /// ERROR lines the host logged after check 1.
    pub errors_after_start: &'a [String],
    /// The whole run.
    pub took: Duration,
}

impl Summary<'_> {
    /// Prints the summary; returns whether the run is good (exit code 0).
    pub fn print(&self) -> bool {
        let all = self.results.iter().filter(|r| r.passed()).count() == CHECKS.len();
        let (stop_ok, stop_line) = match self.stopped {
            Stopped::Exited { status, after } if status.success() => {
                (true, format!("stopped on SIGTERM with exit code 0 in {:.1} s", after.as_secs_f64()))
            }
            Stopped::Exited { status, after } => (
                false,
                format!("STOP FAILED: exited with {status} {:.1} s after SIGTERM", after.as_secs_f64()),
            ),
            Stopped::Already(status) => (false, format!("STOP FAILED: had already exited with {status}")),
            Stopped::Hung { grace } => {
                (false, format!("STOP FAILED: still running {} s after SIGTERM, killed", grace.as_secs()))
            }
        };
        let clean_log = self.errors_after_start.is_empty();
        let log_line = match self.errors_after_start.first() {
            None => "no ERROR lines in its log".to_owned(),
            Some(first) => format!(
                "{} ERROR line(s) in its log after start, first: {}",
                self.errors_after_start.len(),
                logscan::brief(first)
            ),
        };
        let ok = all && stop_ok && clean_log;
        println!("{}", outcome::summary(self.results));
        println!("host: {stop_line}; {log_line}");
        println!("{} in {:.1} s", if ok { "SMOKE OK" } else { "SMOKE FAILED" }, self.took.as_secs_f64());
        ok
    }
}

/// Writes `details.txt`: failed checks with their chat's transcript, the
/// panics recorded (full scripted-user failures), the host's ERROR lines.
pub fn write_details(
    work: &WorkDir,
    api: &FakeBotApi,
    results: &[CheckResult],
    errors: &[String],
    panics: &[String],
) {
    let mut out = String::new();
    for r in results {
        let _ = writeln!(out, "{}", r.line());
    }
    for r in results.iter().filter(|r| !r.passed()) {
        let _ = writeln!(out, "\n=== check {} {}", r.number, r.name());
        if let Some(chat) = r.chat {
            let _ = writeln!(out, "{}", api.transcript(chat));
        }
    }
    if !panics.is_empty() {
        let _ = writeln!(out, "\n=== failed expectations, in full");
        for p in panics {
            let _ = writeln!(out, "{p}\n");
        }
    }
    if !errors.is_empty() {
        let _ = writeln!(out, "\n=== ERROR lines of the host");
        for e in errors {
            let _ = writeln!(out, "{e}");
        }
    }
    if let Err(e) = std::fs::write(work.details_file(), out) {
        eprintln!("vox-smoke: cannot write {}: {e}", work.details_file().display());
    }
}
