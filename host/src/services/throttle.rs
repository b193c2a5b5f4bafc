//! Outgoing rate limits, so the bot never provokes a 429: Telegram allows
//! about 30 messages a second per bot, one a second per private chat (short
//! bursts allowed) and 20 a minute per group. Every send and edit reserves a
//! slot in the chat's bucket and in the bot's, and waits for it; the buckets
//! are GCRA (a theoretical arrival time per key), sized so that no window of
//! Telegram's lengths ever holds more than its limit:
//!
//! | bucket | sustained | burst | most in any window |
//! |---|---|---|---|
//! | the bot | 25 / s | 5 | 30 in 1 s |
//! | a private chat | 1 / s | 5 | 6 in 1 s (a reply's document, menu and status go out at once) |
//! | a group | 17 / min | 3 | 20 in 60 s |
//!
//! Not teloxide's `Throttle` adaptor: it allows no burst per chat, so the
//! second message of every reply would wait a second.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::ids::IdMap;
use crate::metrics::{Collect, Kind, Scraped};

/// One bucket's shape.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Time per message, sustained.
    pub interval: Duration,
    /// Messages that may go at once.
    pub burst: u32,
}

impl Limit {
    /// Burst tolerance: how far ahead of now the bucket may be booked.
    fn tolerance(self) -> Duration {
        self.interval * self.burst.saturating_sub(1)
    }
}

/// The bot's bucket.
pub const OVERALL: Limit = Limit { interval: Duration::from_millis(40), burst: 5 };
/// A private chat's bucket (positive chat ids).
pub const PRIVATE_CHAT: Limit = Limit { interval: Duration::from_secs(1), burst: 5 };
/// A group's or channel's bucket (negative chat ids).
pub const GROUP_CHAT: Limit = Limit { interval: Duration::from_millis(60_000 / 17 + 1), burst: 3 };

/// Above this many chats, idle buckets are dropped on the next reservation.
const PRUNE_ABOVE: usize = 8192;

#[derive(Default)]
struct Buckets {
    overall: Option<Instant>,
    chats: IdMap<i64, Instant>,
}

/// When a bucket whose theoretical arrival time is `tat` lets a message go,
/// asked at `now`.
fn earliest(tat: Option<Instant>, limit: Limit, now: Instant) -> Instant {
    match tat {
        Some(tat) => tat.checked_sub(limit.tolerance()).map_or(now, |t| t.max(now)),
        None => now,
    }
}

fn booked(tat: Option<Instant>, at: Instant, limit: Limit) -> Instant {
    tat.map_or(at, |t| t.max(at)) + limit.interval
}

/// The buckets of the bot and of every chat it wrote to lately.
#[derive(Default)]
pub struct Throttle {
    off: bool,
    buckets: Mutex<Buckets>,
    waits: AtomicU64,
    waited_us: AtomicU64,
}

impl Throttle {
    /// Buckets as above; `enabled = false` lets everything through at once.
    pub fn new(enabled: bool) -> Self {
        Self { off: !enabled, ..Self::default() }
    }

    /// Books the next slot for a message to `chat`: when it may go.
    pub fn reserve(&self, chat: i64, now: Instant) -> Instant {
        let limit = if chat < 0 { GROUP_CHAT } else { PRIVATE_CHAT };
        // A panic cannot leave the buckets half-booked (two plain stores), so poison is harmless.
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if b.chats.len() > PRUNE_ABOVE {
            b.chats.retain(|_, tat| *tat > now);
        }
        let chat_tat = b.chats.get(&chat).copied();
        let at = earliest(chat_tat, limit, now).max(earliest(b.overall, OVERALL, now));
        b.chats.insert(chat, booked(chat_tat, at, limit));
        b.overall = Some(booked(b.overall, at, OVERALL));
        at
    }

    /// Waits for `chat`'s next slot.
    pub async fn wait(&self, chat: i64) {
        if self.off {
            return;
        }
        let now = Instant::now();
        let at = self.reserve(chat, now);
        if at > now {
            self.waits.fetch_add(1, Ordering::Relaxed);
            let us = u64::try_from((at - now).as_micros()).unwrap_or(u64::MAX);
            self.waited_us.fetch_add(us, Ordering::Relaxed);
            tokio::time::sleep_until(at).await;
        }
    }
}

impl Collect for Throttle {
    fn collect(&self, out: &mut Scraped) {
        out.one(
            "vox_telegram_throttle_waits",
            "Sends and edits held back to stay inside Telegram's rate limits",
            Kind::Counter,
            self.waits.load(Ordering::Relaxed) as f64,
        );
        out.one(
            "vox_telegram_throttle_wait_seconds",
            "Time those sends and edits waited, in all",
            Kind::Counter,
            self.waited_us.load(Ordering::Relaxed) as f64 / 1e6,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most sends whose times fall in any window of length `window`.
    fn most_in_window(times: &[Instant], window: Duration) -> usize {
        (0..times.len())
            .map(|i| times[i..].iter().take_while(|t| **t < times[i] + window).count())
            .max()
            .unwrap_or(0)
    }

    fn send_times(throttle: &Throttle, chats: &[i64], n: usize) -> Vec<(i64, Instant)> {
        let start = Instant::now();
        let mut out: Vec<(i64, Instant)> =
            (0..n).map(|i| chats[i % chats.len()]).map(|c| (c, throttle.reserve(c, start))).collect();
        out.sort_by_key(|(_, t)| *t);
        out
    }

    #[test]
    fn a_reply_of_three_messages_goes_out_at_once() {
        let throttle = Throttle::new(true);
        let now = Instant::now();
        for _ in 0..3 {
            assert_eq!(throttle.reserve(42, now), now);
        }
    }

    #[test]
    fn no_window_ever_holds_more_than_telegram_allows() {
        let throttle = Throttle::new(true);
        let sends = send_times(&throttle, &(1..=100).collect::<Vec<_>>(), 1000);
        let all: Vec<Instant> = sends.iter().map(|(_, t)| *t).collect();
        assert!(most_in_window(&all, Duration::from_secs(1)) <= 30, "overall");
        for chat in [1, 50, 100] {
            let one: Vec<Instant> = sends.iter().filter(|(c, _)| *c == chat).map(|(_, t)| *t).collect();
            assert_eq!(one.len(), 10);
            assert!(most_in_window(&one, Duration::from_secs(1)) <= 6, "chat {chat}");
        }
        let span = *all.last().expect("sends") - all[0];
        assert!(span <= Duration::from_secs(41), "1,000 sends take about 40 s at 25/s, not {span:?}");
    }

    #[test]
    fn a_group_gets_at_most_twenty_a_minute() {
        let throttle = Throttle::new(true);
        let sends = send_times(&throttle, &[-100], 60);
        let all: Vec<Instant> = sends.iter().map(|(_, t)| *t).collect();
        assert!(most_in_window(&all, Duration::from_secs(60)) <= 20);
    }
}
