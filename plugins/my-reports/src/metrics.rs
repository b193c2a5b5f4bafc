//! my-reports' counters, all in one place, as the plan lists them: opens, views,
//! renames, deletes, successes and failures, timeouts, lock waits, size
//! refusals, list sizes, security refusals. Read by the ops endpoint.

use std::sync::atomic::{AtomicU64, Ordering};

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

impl Metrics {
    /// Every counter as `(name, value)`, in Prometheus naming.
    pub fn samples(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("my_reports_opens_total", self.opens.get()),
            ("my_reports_views_ok_total", self.views.ok.get()),
            ("my_reports_views_failed_total", self.views.failed.get()),
            ("my_reports_renames_ok_total", self.renames.ok.get()),
            ("my_reports_renames_failed_total", self.renames.failed.get()),
            ("my_reports_deletes_ok_total", self.deletes.ok.get()),
            ("my_reports_deletes_failed_total", self.deletes.failed.get()),
            ("my_reports_exports_ok_total", self.exports.ok.get()),
            ("my_reports_exports_failed_total", self.exports.failed.get()),
            ("my_reports_timeouts_total", self.timeouts.get()),
            ("my_reports_lock_waits_total", self.lock_waits.get()),
            ("my_reports_lock_busy_total", self.lock_busy.get()),
            ("my_reports_size_refusals_total", self.size_refusals.get()),
            ("my_reports_invalid_inputs_total", self.invalid_inputs.get()),
            ("my_reports_lists_sent_total", self.lists_sent.get()),
            ("my_reports_list_bytes_total", self.list_bytes_total.get()),
            ("my_reports_list_reports_total", self.list_reports_total.get()),
            ("my_reports_security_refusals_total", self.security_refusals.get()),
            ("my_reports_missing_files_total", self.missing_files.get()),
            ("my_reports_delete_postcondition_failures_total", self.delete_postcondition_failures.get()),
        ]
    }
}
