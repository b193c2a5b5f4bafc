//! The host's clock: real time plus an offset that tests move forward, so
//! time-to-live and snapshot expiry are tested without real sleeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// A monotonic clock shared by the host and its plugins ([`crate::Ctx::now`]).
///
/// ```
/// let clock = vox_plugin::Clock::default();
/// let before = clock.now();
/// clock.advance(std::time::Duration::from_secs(301));
/// assert!(clock.now() - before >= std::time::Duration::from_secs(301));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicU64>,
}

impl Clock {
    /// Now, as the host sees it.
    pub fn now(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Wall-clock now, moved by the same offset: what outlives the process
    /// (dialogue deadlines, stored values), since an [`Instant`] means nothing
    /// after a restart.
    pub fn wall(&self) -> SystemTime {
        SystemTime::now() + Duration::from_millis(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}
