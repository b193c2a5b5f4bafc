//! my-reports' counters, all in one place, as the plan lists them: opens, views,
//! renames, deletes, successes and failures, timeouts, lock waits, size
//! refusals, list sizes, security refusals. The host shows them on `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

use vox_plugin::metrics::Sample;

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

/// Every counter of the plugin.
#[derive(Debug, Default)]
pub struct Metrics {
    /// "Мои отчеты" opened (lists made, both versions).
    pub opens: Counter,
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
    /// Operations that had to wait for the same user's running one.
    pub lock_waits: Counter,
    /// Operations refused because the user's previous one still ran.
    pub lock_busy: Counter,
    /// Lists or files refused for their size.
    pub size_refusals: Counter,
    /// Wrong answers typed in a step.
    pub invalid_inputs: Counter,
    /// Lists sent.
    pub lists_sent: Counter,
    /// Sum of sent lists' sizes, bytes (with `lists_sent`: the mean).
    pub list_bytes_total: Counter,
    /// Sum of sent lists' report counts.
    pub list_reports_total: Counter,
    /// Forged or unsafe `send_report||` paths refused.
    pub security_refusals: Counter,
    /// Reports whose file was missing on disk when asked for.
    pub missing_files: Counter,
    /// Deletes whose post-condition (file and entry gone) did not hold.
    pub delete_postcondition_failures: Counter,
}

type Labels = &'static [(&'static str, &'static str)];

const ACTIONS_HELP: &str = "Actions carried out, by action and outcome";
/// `[ok, failed]` labels of views, renames, deletes, exports, in that order.
const ACTION_LABELS: [[Labels; 2]; 4] = [
    [&[("action", "view"), ("outcome", "ok")], &[("action", "view"), ("outcome", "failed")]],
    [&[("action", "rename"), ("outcome", "ok")], &[("action", "rename"), ("outcome", "failed")]],
    [&[("action", "delete"), ("outcome", "ok")], &[("action", "delete"), ("outcome", "failed")]],
    [&[("action", "export"), ("outcome", "ok")], &[("action", "export"), ("outcome", "failed")]],
];

impl Metrics {
    /// Every counter as it appears on the host's `/metrics` (prefixed `my_reports_`).
    pub fn samples(&self) -> Vec<Sample> {
        let mut out = vec![Sample::counter(
            "opens",
            "\"Мои отчеты\" opened (lists made, both versions)",
            self.opens.get(),
        )];
        for (labels, outcomes) in
            ACTION_LABELS.iter().zip([&self.views, &self.renames, &self.deletes, &self.exports])
        {
            out.push(Sample::counter("actions", ACTIONS_HELP, outcomes.ok.get()).labels(labels[0]));
            out.push(Sample::counter("actions", ACTIONS_HELP, outcomes.failed.get()).labels(labels[1]));
        }
        out.extend([
            Sample::counter("timeouts", "Outdated lists or expired steps met by a user", self.timeouts.get()),
            Sample::counter(
                "lock_waits",
                "Actions that waited for the same user's running one",
                self.lock_waits.get(),
            ),
            Sample::counter(
                "lock_busy",
                "Actions refused because the user's previous one still ran",
                self.lock_busy.get(),
            ),
            Sample::counter(
                "size_refusals",
                "Lists or files refused for their size",
                self.size_refusals.get(),
            ),
            Sample::counter("invalid_inputs", "Wrong answers typed in a step", self.invalid_inputs.get()),
            Sample::counter("lists_sent", "Report lists sent (TXT, CSV, JSON)", self.lists_sent.get()),
            Sample::counter(
                "list_bytes",
                "Bytes of the lists sent (divide by lists_sent for the mean size)",
                self.list_bytes_total.get(),
            ),
            Sample::counter(
                "list_reports",
                "Reports in the lists sent (divide by lists_sent for the mean)",
                self.list_reports_total.get(),
            ),
            Sample::counter(
                "security_refusals",
                "Forged or unsafe report paths refused",
                self.security_refusals.get(),
            ),
            Sample::counter(
                "missing_files",
                "Reports whose file was missing on disk when asked for",
                self.missing_files.get(),
            ),
            Sample::counter(
                "delete_postcondition_failures",
                "Deletes after which the file or the entry was still there",
                self.delete_postcondition_failures.get(),
            ),
        ]);
        out
    }
}
