//! Check results and how they are printed: one `PASS`/`FAIL` line per check,
//! then a summary; plus [`attempt`], which turns a scripted user's failed
//! expectation (a panic carrying the chat transcript) into a failure reason.

use std::any::Any;
use std::fmt::Write as _;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;

use futures_util::FutureExt;

/// The 12 checks of the plan, by number.
pub const CHECKS: [&str; 12] = [
    "host starts without errors",
    "\"Мои отчеты\" works",
    "TXT sent",
    "menu shown",
    "view",
    "rename",
    "delete",
    "confirmations asked",
    "message cleanup",
    "snapshot timeout",
    "lock under quick repeated presses",
    "size refusal for a list over 10 MB",
];

/// `Ok(note)` (what was seen, may be empty) or `Err(reason)` (expected vs happened).
pub type Verdict = Result<String, String>;

/// One check's result.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// 1..=12.
    pub number: usize,
    /// The verdict.
    pub verdict: Verdict,
    /// The chat the check played in, for the transcript in the details file.
    pub chat: Option<i64>,
}

impl CheckResult {
    /// The check's name from [`CHECKS`].
    pub fn name(&self) -> &'static str {
        CHECKS.get(self.number.wrapping_sub(1)).copied().unwrap_or("unknown check")
    }

    /// `PASS  1 host starts without errors (note)` or `FAIL  7 delete: reason`.
    pub fn line(&self) -> String {
        match &self.verdict {
            Ok(note) if note.is_empty() => format!("PASS {:>2} {}", self.number, self.name()),
            Ok(note) => format!("PASS {:>2} {} ({note})", self.number, self.name()),
            Err(reason) => format!("FAIL {:>2} {}: {reason}", self.number, self.name()),
        }
    }

    /// Whether it passed.
    pub fn passed(&self) -> bool {
        self.verdict.is_ok()
    }
}

/// The summary line: `12/12 checks passed` or which failed.
pub fn summary(results: &[CheckResult]) -> String {
    let passed = results.iter().filter(|r| r.passed()).count();
    let failed: Vec<String> = results.iter().filter(|r| !r.passed()).map(|r| r.number.to_string()).collect();
    let missing = CHECKS.len().saturating_sub(results.len());
    let mut line = format!("{passed}/{} checks passed", CHECKS.len());
    if !failed.is_empty() {
        let _ = write!(line, "; FAILED: {}", failed.join(", "));
    }
    if missing > 0 {
        let _ = write!(line, "; {missing} not run");
    }
    line
}

/// Full panic texts (with the scripted user's chat transcript), for the details file.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Routes panics into [`PANICS`] instead of the terminal: a failed expectation
/// is reported as a FAIL line, its transcript goes to the details file.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}: ", l.file(), l.line())).unwrap_or_default();
        let text = format!("{location}{}", payload_text(info.payload()));
        PANICS.lock().unwrap_or_else(|p| p.into_inner()).push(text);
    }));
}

/// Every panic recorded so far.
pub fn recorded_panics() -> Vec<String> {
    PANICS.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Runs a step of a check; a panic inside it (a scripted user's `expect_*`
/// that timed out, a `press` that found no button) becomes `Err` with its
/// first line, without the source location.
pub async fn attempt<T>(step: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    match AssertUnwindSafe(step).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => Err(first_line(&payload_text(panic.as_ref()))),
    }
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic without a message".to_owned()
    }
}

/// The first line of a scripted user's panic, without its `file:line:col: ` prefix.
pub fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    // `ScriptedUser` failures start with the caller's location: `src/x.rs:12:5: expected ...`.
    let without_location = line
        .split_once(".rs:")
        .filter(|(file, _)| !file.contains(' '))
        .and_then(|(_, rest)| rest.split_once(": "))
        .map(|(_, reason)| reason);
    without_location.unwrap_or(line).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_as_the_plan_asks() {
        let ok = CheckResult { number: 1, verdict: Ok(String::new()), chat: None };
        assert_eq!(ok.line(), "PASS  1 host starts without errors");
        let noted = CheckResult { number: 3, verdict: Ok("6 reports".into()), chat: None };
        assert_eq!(noted.line(), "PASS  3 TXT sent (6 reports)");
        let bad = CheckResult { number: 12, verdict: Err("no refusal".into()), chat: Some(7) };
        assert_eq!(bad.line(), "FAIL 12 size refusal for a list over 10 MB: no refusal");
        assert_eq!(summary(&[ok.clone(), bad]), "1/12 checks passed; FAILED: 12; 10 not run");
    }

    #[test]
    fn a_scripted_users_panic_becomes_its_first_line() {
        let text = "tests/src/bin/vox-smoke/checks/list.rs:40:5: expected a document from the bot within 5s\n\nchat 7:\n...";
        assert_eq!(first_line(text), "expected a document from the bot within 5s");
        assert_eq!(first_line("plain: message"), "plain: message");
    }

    #[tokio::test]
    async fn attempt_turns_a_panic_into_a_failure() {
        let failed: Result<(), String> =
            attempt(async { panic!("src/a.rs:1:2: expected a message containing \"x\"\nmore") }).await;
        assert_eq!(failed, Err("expected a message containing \"x\"".to_owned()));
        assert_eq!(attempt(async { Ok::<_, String>(3) }).await, Ok(3));
    }
}
