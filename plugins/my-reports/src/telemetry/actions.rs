//! One log line per user action — user, operation, report number, outcome,
//! duration — so every view, rename and delete can be traced afterwards. Each
//! action has its own event name (`my_reports view`, `my_reports rename`,
//! `my_reports delete`, `my_reports open`, …), so a log query needs no field
//! filter; the update's span adds chat, plugin, version and step.

use std::time::Instant;

use vox_plugin::tracing;

/// A user action under way.
#[must_use = "finish the operation to log it"]
pub struct Op {
    name: &'static str,
    user: i64,
    number: Option<u32>,
    started: Instant,
}

impl Op {
    /// Starts timing `name` for `user`.
    pub fn start(name: &'static str, user: i64) -> Self {
        Self { name, user, number: None, started: Instant::now() }
    }

    /// The report the action is about.
    pub fn number(&mut self, number: u32) {
        self.number = Some(number);
    }

    /// Logs the outcome with the duration.
    pub fn finish(self, outcome: &'static str) {
        let duration_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(
            user = self.user,
            op = self.name,
            number = self.number,
            outcome,
            duration_ms,
            "my_reports {}",
            self.name
        );
    }
}
