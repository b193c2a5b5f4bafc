//! List snapshots: the numbers a user saw in the list file map to exactly the
//! reports in it, for a limited time. A newer list replaces the older one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vox_plugin::StateKey;

/// One report as the list showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapEntry {
    /// The stable number shown.
    pub number: u32,
    /// Identity: the report's file, checked again before acting.
    pub file_path: String,
    /// The title shown.
    pub title: String,
}

/// A sent list.
#[derive(Debug)]
pub struct Snapshot {
    /// Carried in the menu's buttons, so an old menu cannot act on a newer list.
    pub id: u64,
    /// When the list was made (host clock).
    pub taken_at: Instant,
    /// The reports in the list, as shown.
    pub entries: Vec<SnapEntry>,
}

impl Snapshot {
    /// The entry shown with `number`.
    pub fn entry(&self, number: u32) -> Option<&SnapEntry> {
        self.entries.iter().find(|e| e.number == number)
    }

    /// The largest number shown (for "1..N" hints).
    pub fn max_number(&self) -> u32 {
        self.entries.iter().map(|e| e.number).max().unwrap_or(0)
    }
}

/// Why a snapshot cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// Older than the time-to-live.
    Expired,
    /// A newer list was sent since, or none is known (e.g. after a restart).
    Replaced,
}

#[derive(Default)]
struct PerUser {
    current: Option<Arc<Snapshot>>,
    /// The list document's message, deleted when the next list is sent.
    list_message: Option<i32>,
}

/// Snapshots per (chat, user).
pub struct Snapshots {
    /// Milliseconds; a config reload changes it for lists sent from then on and
    /// for the ones already out.
    ttl_ms: AtomicU64,
    next_id: AtomicU64,
    users: Mutex<HashMap<StateKey, PerUser>>,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Above this many users, expired snapshots are dropped on the next insert.
const PRUNE_ABOVE: usize = 4096;

impl Snapshots {
    /// Snapshots valid for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl_ms: AtomicU64::new(millis(ttl)),
            next_id: AtomicU64::new(1),
            users: Mutex::new(HashMap::new()),
        }
    }

    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<StateKey, PerUser>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The time-to-live.
    pub fn ttl(&self) -> Duration {
        Duration::from_millis(self.ttl_ms.load(Ordering::Relaxed))
    }

    /// Changes the time-to-live (config reload).
    pub fn set_ttl(&self, ttl: Duration) {
        self.ttl_ms.store(millis(ttl), Ordering::Relaxed);
    }

    /// Stores a new list for `key`, replacing the previous one; returns it.
    pub fn put(&self, key: StateKey, entries: Vec<SnapEntry>, now: Instant) -> Arc<Snapshot> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let snapshot = Arc::new(Snapshot { id, taken_at: now, entries });
        let mut users = self.users();
        if users.len() > PRUNE_ABOVE {
            let ttl = self.ttl();
            users.retain(|_, u| {
                u.current.as_ref().is_some_and(|s| now.saturating_duration_since(s.taken_at) < ttl)
            });
        }
        users.entry(key).or_default().current = Some(Arc::clone(&snapshot));
        snapshot
    }

    /// The snapshot with `id`, if it is still the user's current one and fresh.
    pub fn get(&self, key: StateKey, id: u64, now: Instant) -> Result<Arc<Snapshot>, Stale> {
        let users = self.users();
        let current = users.get(&key).and_then(|u| u.current.as_ref()).ok_or(Stale::Replaced)?;
        if current.id != id {
            return Err(Stale::Replaced);
        }
        if now.saturating_duration_since(current.taken_at) >= self.ttl() {
            return Err(Stale::Expired);
        }
        Ok(Arc::clone(current))
    }

    /// Records the new list message and returns the previous one, to delete.
    pub fn replace_list_message(&self, key: StateKey, message: Option<i32>) -> Option<i32> {
        let mut users = self.users();
        std::mem::replace(&mut users.entry(key).or_default().list_message, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(number: u32) -> SnapEntry {
        SnapEntry { number, file_path: format!("user_1/{number}.txt"), title: format!("Отчет {number}") }
    }

    #[test]
    fn a_snapshot_expires_and_a_newer_one_replaces_it() {
        let snaps = Snapshots::new(Duration::from_secs(300));
        let key = StateKey { chat: 1, user: 1 };
        let t0 = Instant::now();
        let first = snaps.put(key, vec![entry(3), entry(1)], t0);
        assert_eq!(snaps.get(key, first.id, t0 + Duration::from_secs(299)).expect("fresh").max_number(), 3);
        assert_eq!(snaps.get(key, first.id, t0 + Duration::from_secs(300)).err(), Some(Stale::Expired));
        let second = snaps.put(key, vec![entry(2)], t0);
        assert_eq!(snaps.get(key, first.id, t0).err(), Some(Stale::Replaced));
        assert!(snaps.get(key, second.id, t0).is_ok());
        assert_eq!(snaps.get(StateKey { chat: 2, user: 2 }, second.id, t0).err(), Some(Stale::Replaced));
        assert_eq!(second.entry(2).map(|e| e.title.as_str()), Some("Отчет 2"));
        assert!(second.entry(3).is_none());
    }

    #[test]
    fn the_previous_list_message_is_handed_back_once() {
        let snaps = Snapshots::new(Duration::from_secs(300));
        let key = StateKey { chat: 1, user: 1 };
        assert_eq!(snaps.replace_list_message(key, Some(10)), None);
        assert_eq!(snaps.replace_list_message(key, Some(11)), Some(10));
    }
}
