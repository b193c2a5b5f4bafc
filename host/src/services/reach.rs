//! Whether Telegram answers: the `getMe` probe's and the long poll's failure
//! streaks, lock-free, so `/healthz` can say "unreachable for N seconds".

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A run of failures with no success in between. Times are milliseconds since
/// `origin` plus one, so 0 means "none".
#[derive(Debug, Default)]
pub struct Streak {
    start: AtomicU64,
    last: AtomicU64,
}

impl Streak {
    /// A failure at `now_ms`; it starts a new streak when the previous failure
    /// is older than `quiet` (the source went quiet, so that streak ended).
    pub fn fail(&self, now_ms: u64, quiet: Duration) {
        let stamp = now_ms + 1;
        let last = self.last.swap(stamp, Ordering::Relaxed);
        let start = self.start.load(Ordering::Relaxed);
        if start == 0 || last == 0 || stamp.saturating_sub(last) > quiet.as_millis() as u64 {
            self.start.store(stamp, Ordering::Relaxed);
        }
    }

    /// A success: the streak is over.
    pub fn ok(&self) {
        // A load first: on the update path this is one read when nothing failed.
        if self.start.load(Ordering::Relaxed) != 0 {
            self.start.store(0, Ordering::Relaxed);
        }
    }

    /// How long the current streak has lasted at `now_ms`, if one is running
    /// (its last failure is within `quiet`).
    pub fn failing_for(&self, now_ms: u64, quiet: Duration) -> Option<Duration> {
        let start = self.start.load(Ordering::Relaxed);
        let last = self.last.load(Ordering::Relaxed);
        let stamp = now_ms + 1;
        if start == 0 || stamp.saturating_sub(last) > quiet.as_millis() as u64 {
            return None;
        }
        Some(Duration::from_millis(stamp.saturating_sub(start)))
    }
}

/// Telegram's reachability as the host has seen it.
#[derive(Debug)]
pub struct Reachability {
    origin: Instant,
    /// The first `getMe` after polling was set up succeeded.
    ready: std::sync::atomic::AtomicBool,
    /// `getMe` probes failing.
    pub probe: Streak,
    /// `getUpdates` failing (no success signal but a delivered update).
    pub poll: Streak,
    probe_quiet: Duration,
    poll_quiet: Duration,
    /// When Telegram last answered a long poll with 409 Conflict (ms since
    /// `origin`, plus one; 0: never).
    last_conflict_ms: std::sync::atomic::AtomicU64,
    /// 409 Conflicts so far.
    conflicts: std::sync::atomic::AtomicU64,
}

impl Reachability {
    /// Probe failures more than `probe_every` × 2 + 5 s apart do not form one streak;
    /// poll failures more than `poll_timeout` + 30 s apart neither (polling backs off).
    pub fn new(probe_every: Duration, poll_timeout: Duration) -> Self {
        Self {
            origin: Instant::now(),
            ready: std::sync::atomic::AtomicBool::new(false),
            probe: Streak::default(),
            poll: Streak::default(),
            probe_quiet: probe_every * 2 + Duration::from_secs(5),
            poll_quiet: poll_timeout + Duration::from_secs(30),
            last_conflict_ms: std::sync::atomic::AtomicU64::new(0),
            conflicts: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Milliseconds since this was made.
    pub fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    /// The probe got an answer.
    pub fn probe_ok(&self) {
        self.ready.store(true, Ordering::Relaxed);
        self.probe.ok();
    }

    /// The probe got no answer.
    pub fn probe_failed(&self) {
        self.probe.fail(self.now_ms(), self.probe_quiet);
    }

    /// A long poll failed.
    pub fn poll_failed(&self) {
        self.poll.fail(self.now_ms(), self.poll_quiet);
    }

    /// Telegram answered a long poll with 409 Conflict: another process polls
    /// with this token.
    pub fn poll_conflict(&self) {
        self.last_conflict_ms.store(self.now_ms() + 1, Ordering::Relaxed);
        self.conflicts.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether another process polled with this token lately (a 409 within
    /// the long-poll quiet time: polling keeps asking while the other polls).
    pub fn another_poller(&self) -> bool {
        match self.last_conflict_ms.load(Ordering::Relaxed) {
            0 => false,
            at => self.now_ms().saturating_sub(at - 1) < self.poll_quiet.as_millis() as u64,
        }
    }

    /// 409 Conflicts since start.
    pub fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    /// A long poll was answered (with updates or none): polling works.
    pub fn poll_answered(&self) {
        self.poll.ok();
    }

    /// An update arrived: polling works.
    #[inline]
    pub fn update_received(&self) {
        self.poll.ok();
    }

    /// Whether a first probe succeeded.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// How long Telegram has been failing us, the longer of the two streaks.
    pub fn failing_for(&self) -> Option<Duration> {
        let now = self.now_ms();
        let probe = self.probe.failing_for(now, self.probe_quiet);
        let poll = self.poll.failing_for(now, self.poll_quiet);
        probe.max(poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUIET: Duration = Duration::from_secs(25);

    #[test]
    fn a_streak_lasts_from_its_first_failure_until_a_success() {
        let s = Streak::default();
        assert_eq!(s.failing_for(1_000, QUIET), None);
        s.fail(1_000, QUIET);
        s.fail(11_000, QUIET);
        s.fail(21_000, QUIET);
        assert_eq!(s.failing_for(21_000, QUIET), Some(Duration::from_secs(20)));
        s.ok();
        assert_eq!(s.failing_for(22_000, QUIET), None);
    }

    #[test]
    fn failures_far_apart_are_separate_streaks_and_an_old_one_fades() {
        let s = Streak::default();
        s.fail(0, QUIET);
        assert_eq!(s.failing_for(10_000, QUIET), Some(Duration::from_secs(10)));
        // Nothing failed for longer than `quiet`: the source recovered.
        assert_eq!(s.failing_for(30_000, QUIET), None);
        s.fail(100_000, QUIET);
        assert_eq!(s.failing_for(101_000, QUIET), Some(Duration::from_secs(1)));
    }

    #[test]
    fn reachability_is_ready_after_the_first_probe_and_reports_the_longer_streak() {
        let r = Reachability::new(Duration::from_secs(10), Duration::from_secs(10));
        assert!(!r.is_ready());
        r.probe_ok();
        assert!(r.is_ready());
        assert_eq!(r.failing_for(), None);
        r.poll_failed();
        assert!(r.failing_for().is_some());
        r.update_received();
        assert_eq!(r.failing_for(), None);
    }

    #[test]
    fn a_409_marks_another_poller_until_the_quiet_time_passes() {
        let r = Reachability::new(Duration::from_secs(10), Duration::from_millis(0));
        assert!(!r.another_poller());
        r.poll_conflict();
        assert!(r.another_poller());
        assert_eq!(r.conflicts(), 1);
    }
}
