//! List snapshots: the numbers a user saw in the list file map to exactly the
//! reports in it, for a limited time. A newer list replaces the older one.
//!
//! Snapshots are per-user values in the host's state store (through
//! [`Ctx::set_user_value`]), not in this process: a confirmation sent before
//! a restart still acts on the list it was about. Times are wall-clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use vox_plugin::{Ctx, HostError};

/// The user's current list.
const LIST: &str = "list";
/// The message the current list document went out in, deleted when the next one is sent.
const LIST_MESSAGE: &str = "list_message";
/// Telegram lets a bot delete its own messages for 48 hours; older ids are of no use.
const LIST_MESSAGE_KEPT: Duration = Duration::from_secs(48 * 3600);
/// A list is kept this long past its time-to-live: a press just after it is
/// told "expired" (not "replaced"), and a reload that lengthens the
/// time-to-live by up to this much still covers lists already out.
const LIST_KEPT_PAST_TTL: Duration = Duration::from_secs(3600);

/// One report as the list showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapEntry {
    /// The stable number shown.
    #[serde(rename = "n")]
    pub number: u32,
    /// Identity: the report's file, checked again before acting.
    #[serde(rename = "f")]
    pub file_path: String,
    /// The title shown.
    #[serde(rename = "t")]
    pub title: String,
}

/// A sent list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// Carried in the menu's buttons, so an old menu cannot act on a newer list.
    pub id: u64,
    /// When the list was made, milliseconds since the Unix epoch.
    taken_at_ms: u64,
    /// The reports in the list, as shown.
    pub entries: Vec<SnapEntry>,
}

impl Snapshot {
    /// The entry shown with `number`.
    pub fn entry(&self, number: u32) -> Option<&SnapEntry> {
        self.entries.iter().find(|e| e.number == number)
    }

    /// When the list was made, milliseconds since the Unix epoch.
    pub fn taken_at_ms(&self) -> u64 {
        self.taken_at_ms
    }

    /// The largest number shown (for "1..N" hints).
    pub fn max_number(&self) -> u32 {
        self.entries.iter().map(|e| e.number).max().unwrap_or(0)
    }
}

/// Why a snapshot cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// Older than the time-to-live; its age, milliseconds.
    Expired(u64),
    /// A newer list was sent since, or none is known.
    Replaced,
}

/// The time-to-live of lists, and ids unique across restarts.
pub struct Snapshots {
    /// Milliseconds; a config reload changes it for lists sent from then on
    /// and shortens it for the ones already out.
    ttl_ms: AtomicU64,
    /// The last id handed out: ids are wall-clock milliseconds, bumped when
    /// two lists share one, so a restarted process never repeats an old id.
    last_id: AtomicU64,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(millis).unwrap_or(0)
}

impl Snapshots {
    /// Snapshots valid for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl_ms: AtomicU64::new(millis(ttl)), last_id: AtomicU64::new(0) }
    }

    /// The time-to-live.
    pub fn ttl(&self) -> Duration {
        Duration::from_millis(self.ttl_ms.load(Ordering::Relaxed))
    }

    /// Changes the time-to-live (config reload).
    pub fn set_ttl(&self, ttl: Duration) {
        self.ttl_ms.store(millis(ttl), Ordering::Relaxed);
    }

    fn next_id(&self, now_ms: u64) -> u64 {
        let prev = self.last_id.fetch_max(now_ms, Ordering::Relaxed);
        if prev < now_ms { now_ms } else { self.last_id.fetch_add(1, Ordering::Relaxed) + 1 }
    }

    /// Stores a new list for the context's user, replacing the previous one.
    pub async fn put(&self, ctx: &Ctx, entries: Vec<SnapEntry>) -> Result<Snapshot, HostError> {
        let taken_at_ms = unix_ms(ctx.wall_time());
        let snapshot = Snapshot { id: self.next_id(taken_at_ms), taken_at_ms, entries };
        ctx.set_user_value(LIST, &snapshot, self.ttl() + LIST_KEPT_PAST_TTL).await?;
        Ok(snapshot)
    }

    /// The user's list `id`, if it is still their current one and fresh.
    pub async fn get(&self, ctx: &Ctx, id: u64) -> Result<Result<Snapshot, Stale>, HostError> {
        let Some(current) = self.current(ctx, id).await? else { return Ok(Err(Stale::Replaced)) };
        let age = self.age_ms(ctx, &current);
        if age >= millis(self.ttl()) {
            return Ok(Err(Stale::Expired(age)));
        }
        Ok(Ok(current))
    }

    /// The user's list `id` whatever its age, if it is still their current
    /// one (a step after the number was picked in time needs no fresh list).
    pub async fn current(&self, ctx: &Ctx, id: u64) -> Result<Option<Snapshot>, HostError> {
        Ok(ctx.user_value::<Snapshot>(LIST).await?.filter(|s| s.id == id))
    }

    /// How old `snapshot` is now, milliseconds.
    pub fn age_ms(&self, ctx: &Ctx, snapshot: &Snapshot) -> u64 {
        unix_ms(ctx.wall_time()).saturating_sub(snapshot.taken_at_ms)
    }

    /// Wall-clock now on the context's clock, milliseconds since the Unix epoch.
    pub fn now_ms(ctx: &Ctx) -> u64 {
        unix_ms(ctx.wall_time())
    }

    /// Records the new list message and returns the previous one, to delete.
    pub async fn replace_list_message(&self, ctx: &Ctx, message: i32) -> Result<Option<i32>, HostError> {
        let previous = ctx.user_value::<i32>(LIST_MESSAGE).await?;
        ctx.set_user_value(LIST_MESSAGE, &message, LIST_MESSAGE_KEPT).await?;
        Ok(previous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vox_plugin::Input;
    use vox_plugin::testing::RecordingHost;

    fn entry(number: u32) -> SnapEntry {
        SnapEntry { number, file_path: format!("user_1/{number}.txt"), title: format!("Отчет {number}") }
    }

    #[tokio::test]
    async fn a_snapshot_expires_and_a_newer_one_replaces_it() {
        let host = RecordingHost::new();
        let snaps = Snapshots::new(Duration::from_secs(300));
        let ctx = host.ctx("my_reports", None, 1, Input::text("1"));
        let first = snaps.put(&ctx, vec![entry(3), entry(1)]).await.expect("put");
        host.clock().advance(Duration::from_secs(299));
        assert_eq!(snaps.get(&ctx, first.id).await.expect("get").expect("fresh").max_number(), 3);
        host.clock().advance(Duration::from_secs(1));
        let stale = snaps.get(&ctx, first.id).await.expect("get").err();
        assert!(matches!(stale, Some(Stale::Expired(age)) if (300_000..301_000).contains(&age)), "{stale:?}");
        let second = snaps.put(&ctx, vec![entry(2)]).await.expect("put");
        assert!(second.id > first.id);
        assert_eq!(snaps.get(&ctx, first.id).await.expect("get").err(), Some(Stale::Replaced));
        assert!(snaps.get(&ctx, second.id).await.expect("get").is_ok());
        let other = host.ctx("my_reports", None, 2, Input::text("1"));
        assert_eq!(snaps.get(&other, second.id).await.expect("get").err(), Some(Stale::Replaced));
        let got = snaps.get(&ctx, second.id).await.expect("get").expect("fresh");
        assert_eq!(got.entry(2).map(|e| e.title.as_str()), Some("Отчет 2"));
        assert!(got.entry(3).is_none());
    }

    #[tokio::test]
    async fn ids_never_repeat_even_within_one_millisecond() {
        let snaps = Snapshots::new(Duration::from_secs(300));
        let ids: Vec<u64> = (0..100).map(|_| snaps.next_id(1_000)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert!(snaps.next_id(500) > ids[99], "a clock set back does not repeat ids");
    }

    #[tokio::test]
    async fn the_previous_list_message_is_handed_back_once() {
        let host = RecordingHost::new();
        let snaps = Snapshots::new(Duration::from_secs(300));
        let ctx = host.ctx("my_reports", None, 1, Input::text("1"));
        assert_eq!(snaps.replace_list_message(&ctx, 10).await.expect("store"), None);
        assert_eq!(snaps.replace_list_message(&ctx, 11).await.expect("store"), Some(10));
    }
}
