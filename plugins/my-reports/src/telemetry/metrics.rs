//! my-reports' counters and histograms, all in one place, as the plan lists
//! them — opens, views, renames, deletes, successes and failures, timeouts,
//! cancellations, lock waits, size refusals, list and file sizes, the time
//! from a list to its confirmed action, security refusals, and the yellow
//! triggers — kept apart per handler version, so every series on `/metrics`
//! carries `version="v1"|"v2"` and the canary's candidate can be compared with
//! stable in one expression.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use vox_plugin::metrics::{Histogram, Sample};

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Success and failure counts of one operation.
#[derive(Debug, Default)]
pub struct Outcomes {
    /// Attempts that did what the user asked.
    pub ok: Counter,
    /// Attempts that failed (storage error, missing file, refusal).
    pub failed: Counter,
}

/// How a dialogue was cancelled (`how`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CancelledBy {
    /// The "Отмена" button.
    Button,
    /// `/cancel` (the host ends the dialogue and tells the plugin).
    Command,
    /// The step's time-to-live ran out.
    Timeout,
}

impl CancelledBy {
    fn as_str(self) -> &'static str {
        match self {
            CancelledBy::Button => "button",
            CancelledBy::Command => "command",
            CancelledBy::Timeout => "timeout",
        }
    }
}

/// Upper bounds of the list-to-confirmed-action histogram, seconds (the list
/// lives 5 minutes by default; a confirmation step may run past it).
const LIST_TO_ACTION_BOUNDS: [f64; 10] = [5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 1800.0];
/// Upper bounds of the report-file size histogram, bytes (up to Telegram's 50 MB).
const FILE_BYTES_BOUNDS: [f64; 9] =
    [1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0, 52428800.0];

/// The confirmed actions, in the order of [`VersionMetrics::list_to_action`].
pub const ACTIONS: [&str; 3] = ["view", "rename", "delete"];

/// Every counter of one handler version.
#[derive(Debug)]
pub struct VersionMetrics {
    /// "Мои отчеты" opened (lists made).
    pub opens: Counter,
    /// Opens that failed on the report store (index unreadable, directory
    /// gone): also reported to the host as a candidate failure.
    pub open_failures: Counter,
    /// Reports sent for viewing.
    pub views: Outcomes,
    /// Renames applied.
    pub renames: Outcomes,
    /// Deletes applied.
    pub deletes: Outcomes,
    /// Exports (CSV / JSON) sent.
    pub exports: Outcomes,
    /// Steps or lists that timed out (outdated snapshot, expired step).
    pub timeouts: Counter,
    /// Dialogues cancelled, by step and how.
    cancellations: Mutex<BTreeMap<(&'static str, CancelledBy), u64>>,
    /// Operations that had to wait for the same user's running one.
    pub lock_waits: Counter,
    /// Operations refused because the user's previous one (or the shared
    /// writers' lock) stayed busy.
    pub lock_busy: Counter,
    /// Lists (and exports) refused for their size.
    pub list_size_refusals: Counter,
    /// Report files refused for their size (over Telegram's upload limit).
    pub file_size_refusals: Counter,
    /// Wrong answers typed in a step.
    pub invalid_inputs: Counter,
    /// Lists sent.
    pub lists_sent: Counter,
    /// Sum of sent lists' sizes, bytes (with `lists_sent`: the mean).
    pub list_bytes_total: Counter,
    /// Sum of sent lists' report counts.
    pub list_reports_total: Counter,
    /// Sizes of the report files sent, bytes.
    pub report_file_bytes: Histogram,
    /// Seconds from the list being sent to the action being confirmed, per
    /// action of [`ACTIONS`].
    pub list_to_action: [Histogram; 3],
    /// Forged or unsafe `send_report||` paths refused.
    pub security_refusals: Counter,
    /// Reports whose file was missing on disk when asked for.
    pub missing_files: Counter,
    /// Deletes whose post-condition (file and entry gone) did not hold.
    pub delete_postcondition_failures: Counter,
    /// Yellow trigger: actions on a number picked from a list older than its
    /// time-to-live (the timeout was not enforced).
    pub snapshot_timeout_violations: Counter,
    /// Yellow trigger: two actions of one user ran at once (the user's lock
    /// did not hold).
    pub lock_overlaps: Counter,
    /// v1's buttons (`send_report||`, "Показать все") pressed on old
    /// messages: what must reach zero before v1's shim can go.
    pub legacy_callbacks: Counter,
}

impl Default for VersionMetrics {
    fn default() -> Self {
        let list_to_action = || Histogram::new(&LIST_TO_ACTION_BOUNDS);
        Self {
            opens: Counter::default(),
            open_failures: Counter::default(),
            views: Outcomes::default(),
            renames: Outcomes::default(),
            deletes: Outcomes::default(),
            exports: Outcomes::default(),
            timeouts: Counter::default(),
            cancellations: Mutex::default(),
            lock_waits: Counter::default(),
            lock_busy: Counter::default(),
            list_size_refusals: Counter::default(),
            file_size_refusals: Counter::default(),
            invalid_inputs: Counter::default(),
            lists_sent: Counter::default(),
            list_bytes_total: Counter::default(),
            list_reports_total: Counter::default(),
            report_file_bytes: Histogram::new(&FILE_BYTES_BOUNDS),
            list_to_action: [list_to_action(), list_to_action(), list_to_action()],
            security_refusals: Counter::default(),
            missing_files: Counter::default(),
            delete_postcondition_failures: Counter::default(),
            snapshot_timeout_violations: Counter::default(),
            lock_overlaps: Counter::default(),
            legacy_callbacks: Counter::default(),
        }
    }
}

impl VersionMetrics {
    /// Counts a dialogue cancelled at `step`.
    pub fn cancelled(&self, step: &'static str, how: CancelledBy) {
        *self.cancellations.lock().unwrap_or_else(|p| p.into_inner()).entry((step, how)).or_default() += 1;
    }

    /// Cancellations at `step` by `how` so far.
    pub fn cancellations(&self, step: &'static str, how: CancelledBy) -> u64 {
        self.cancellations.lock().unwrap_or_else(|p| p.into_inner()).get(&(step, how)).copied().unwrap_or(0)
    }

    /// The histogram of `action` (one of [`ACTIONS`]).
    pub fn list_to_action(&self, action: &str) -> Option<&Histogram> {
        ACTIONS.iter().position(|a| *a == action).map(|i| &self.list_to_action[i])
    }

    fn samples(&self, version: &'static str, out: &mut Vec<Sample>) {
        let v = [("version", version)];
        let actions = [
            ("view", &self.views),
            ("rename", &self.renames),
            ("delete", &self.deletes),
            ("export", &self.exports),
        ];
        out.push(Sample::counter("opens", "\"Мои отчеты\" opened (lists made)", self.opens.get()).labels(&v));
        out.push(
            Sample::counter(
                "open_failures",
                "Opens that failed on the report store (a candidate failure for automatic rollback)",
                self.open_failures.get(),
            )
            .labels(&v),
        );
        for (action, outcomes) in actions {
            for (outcome, n) in [("ok", outcomes.ok.get()), ("failed", outcomes.failed.get())] {
                let help = "Actions carried out, by action and outcome";
                out.push(Sample::counter("actions", help, n).labels(&[
                    v[0],
                    ("action", action),
                    ("outcome", outcome),
                ]));
            }
        }
        let cancellations = self.cancellations.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for ((step, how), n) in cancellations {
            out.push(Sample::counter("cancellations", "Dialogues cancelled, by step and how", n).labels(&[
                v[0],
                ("step", step),
                ("how", how.as_str()),
            ]));
        }
        for (what, n) in [("list", self.list_size_refusals.get()), ("file", self.file_size_refusals.get())] {
            out.push(
                Sample::counter("size_refusals", "Lists or report files refused for their size", n)
                    .labels(&[v[0], ("what", what)]),
            );
        }
        for (action, histogram) in ACTIONS.iter().zip(&self.list_to_action) {
            out.push(
                Sample::histogram(
                    "list_to_action_seconds",
                    "Seconds from the list being sent to the action on one of its numbers being confirmed",
                    histogram,
                )
                .labels(&[v[0], ("action", action)]),
            );
        }
        out.push(
            Sample::histogram(
                "report_file_bytes",
                "Sizes of the report files sent, bytes",
                &self.report_file_bytes,
            )
            .labels(&v),
        );
        out.push(
            Sample::gauge(
                "report_file_bytes_max",
                "The largest report file sent since start, bytes",
                self.report_file_bytes.max() as u64,
            )
            .labels(&v),
        );
        let plain = [
            ("timeouts", "Outdated lists or expired steps met by a user", self.timeouts.get()),
            ("lock_waits", "Actions that waited for the same user's running one", self.lock_waits.get()),
            ("lock_busy", "Actions refused because the user's previous one still ran", self.lock_busy.get()),
            ("invalid_inputs", "Wrong answers typed in a step", self.invalid_inputs.get()),
            ("lists_sent", "Report lists sent (TXT, CSV, JSON)", self.lists_sent.get()),
            (
                "list_bytes",
                "Bytes of the lists sent (divide by lists_sent for the mean size)",
                self.list_bytes_total.get(),
            ),
            (
                "list_reports",
                "Reports in the lists sent (divide by lists_sent for the mean)",
                self.list_reports_total.get(),
            ),
            ("security_refusals", "Forged or unsafe report paths refused", self.security_refusals.get()),
            (
                "missing_files",
                "Reports whose file was missing on disk when asked for",
                self.missing_files.get(),
            ),
            (
                "delete_postcondition_failures",
                "Deletes after which the file or the entry was still there",
                self.delete_postcondition_failures.get(),
            ),
            (
                "snapshot_timeout_violations",
                "Actions on a number picked from a list older than its time-to-live (yellow trigger)",
                self.snapshot_timeout_violations.get(),
            ),
            (
                "legacy_callbacks",
                "v1's buttons (send_report, show all) pressed, served by this version",
                self.legacy_callbacks.get(),
            ),
            (
                "lock_overlaps",
                "Two actions of one user that ran at once: the user's lock did not hold (yellow trigger)",
                self.lock_overlaps.get(),
            ),
        ];
        for (name, help, n) in plain {
            out.push(Sample::counter(name, help, n).labels(&v));
        }
    }
}

/// Every counter of the plugin, per handler version.
#[derive(Debug, Default)]
pub struct Metrics {
    /// What v1 (legacy) served.
    pub v1: VersionMetrics,
    /// What v2 (new) served.
    pub v2: VersionMetrics,
}

impl Metrics {
    /// Every series as it appears on the host's `/metrics` (prefixed `my_reports_`).
    pub fn samples(&self) -> Vec<Sample> {
        let mut out = Vec::with_capacity(96);
        self.v1.samples("v1", &mut out);
        self.v2.samples("v2", &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_carries_its_version() {
        let m = Metrics::default();
        m.v2.deletes.failed.inc();
        m.v2.cancelled("v2_delete_confirm", CancelledBy::Button);
        m.v1.report_file_bytes.observe(2000.0);
        let samples = m.samples();
        assert!(samples.iter().all(|s| s.labels.iter().any(|(k, _)| *k == "version")));
        let failed_v2 = samples.iter().find(|s| {
            s.name == "actions"
                && s.labels.contains(&("version", "v2"))
                && s.labels.contains(&("outcome", "failed"))
                && s.labels.contains(&("action", "delete"))
        });
        assert_eq!(failed_v2.map(|s| s.value), Some(1));
        let cancelled = samples.iter().find(|s| s.name == "cancellations").expect("a cancellation");
        assert_eq!(cancelled.labels, [("version", "v2"), ("step", "v2_delete_confirm"), ("how", "button")]);
        let max = samples
            .iter()
            .find(|s| s.name == "report_file_bytes_max" && s.labels.contains(&("version", "v1")));
        assert_eq!(max.map(|s| s.value), Some(2000));
    }
}
