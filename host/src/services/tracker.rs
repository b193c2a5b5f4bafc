//! The message tracker (VoxPersona's MessageTracker semantics): remembers the
//! bot's menus, prompts, confirmations and statuses per chat, and says which of
//! them a newly sent message makes stale.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use vox_plugin::MessageKind;

use super::ids::IdMap;

/// Tracked messages per chat beyond which the oldest are forgotten (never deleted).
const MAX_PER_CHAT: usize = 64;
/// Chats tracked per shard; past it the least recently used eighth is forgotten
/// (their old menus simply stay in those chats). 16 shards: 65,536 chats.
const MAX_CHATS_PER_SHARD: usize = 4096;
/// Independent locks, so chats served in parallel rarely wait for each other.
const SHARDS: usize = 16;

#[derive(Debug, Default)]
struct Chat {
    messages: Vec<(i32, MessageKind)>,
    /// When the chat last sent a tracked message (the tracker's own counter).
    used: u64,
}

type Shard = IdMap<i64, Chat>;

/// Per-chat record of tracked bot messages, bounded and sharded.
#[derive(Debug)]
pub struct Tracker {
    shards: [Mutex<Shard>; SHARDS],
    tick: AtomicU64,
    max_chats_per_shard: usize,
}

impl Default for Tracker {
    fn default() -> Self {
        Self::with_capacity(MAX_CHATS_PER_SHARD)
    }
}

impl Tracker {
    /// A tracker keeping at most `max_chats_per_shard` chats in each of its shards.
    fn with_capacity(max_chats_per_shard: usize) -> Self {
        Self {
            shards: std::array::from_fn(|_| Mutex::new(IdMap::default())),
            tick: AtomicU64::new(0),
            max_chats_per_shard: max_chats_per_shard.max(8),
        }
    }

    fn shard(&self, chat: i64) -> std::sync::MutexGuard<'_, Shard> {
        let i = (chat.unsigned_abs() % SHARDS as u64) as usize;
        self.shards[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a sent message and returns the ids it makes stale, which the
    /// caller deletes. `Info` messages are never deleted, so never tracked.
    pub fn sent(&self, chat: i64, id: i32, kind: MessageKind) -> Vec<i32> {
        let used = self.tick.fetch_add(1, Ordering::Relaxed);
        let mut chats = self.shard(chat);
        if !chats.contains_key(&chat) && chats.len() >= self.max_chats_per_shard && kind != MessageKind::Info
        {
            evict_idle(&mut chats, self.max_chats_per_shard / 8);
        }
        let tracked = chats.entry(chat).or_default();
        tracked.used = used;
        let mut stale = Vec::new();
        tracked.messages.retain(|&(old, old_kind)| {
            let replace = kind.replaces(old_kind);
            if replace {
                stale.push(old);
            }
            !replace
        });
        if kind != MessageKind::Info {
            tracked.messages.push((id, kind));
            if tracked.messages.len() > MAX_PER_CHAT {
                tracked.messages.remove(0);
            }
        }
        if tracked.messages.is_empty() {
            chats.remove(&chat);
        }
        stale
    }

    /// Forgets messages deleted by other means.
    pub fn forget(&self, chat: i64, ids: &[i32]) {
        let mut chats = self.shard(chat);
        if let Some(tracked) = chats.get_mut(&chat) {
            tracked.messages.retain(|(id, _)| !ids.contains(id));
            if tracked.messages.is_empty() {
                chats.remove(&chat);
            }
        }
    }

    /// The chat's tracked messages, oldest first.
    pub fn tracked(&self, chat: i64) -> Vec<(i32, MessageKind)> {
        self.shard(chat).get(&chat).map(|c| c.messages.clone()).unwrap_or_default()
    }

    /// Chats tracked now.
    pub fn chats(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len()).sum()
    }
}

/// Forgets the `n` least recently used chats of a full shard (one scan per
/// `n` new chats, so the cost per message stays constant).
fn evict_idle(chats: &mut Shard, n: usize) {
    let mut by_age: Vec<(u64, i64)> = chats.iter().map(|(id, c)| (c.used, *id)).collect();
    by_age.sort_unstable();
    for (_, id) in by_age.into_iter().take(n.max(1)) {
        chats.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageKind::*;

    #[test]
    fn a_menu_clears_everything_but_info() {
        let t = Tracker::default();
        assert!(t.sent(1, 1, Menu).is_empty());
        assert!(t.sent(1, 2, Info).is_empty());
        assert!(t.sent(1, 3, InputRequest).is_empty());
        assert!(t.sent(1, 4, Confirmation).is_empty());
        assert!(t.sent(1, 5, Status).is_empty());
        assert_eq!(t.sent(1, 6, Menu), [1, 3, 4, 5]);
        assert_eq!(t.tracked(1), [(6, Menu)]);
    }

    #[test]
    fn an_input_request_clears_prompts_confirmations_and_statuses_only() {
        let t = Tracker::default();
        t.sent(1, 1, Menu);
        t.sent(1, 2, InputRequest);
        t.sent(1, 3, Confirmation);
        t.sent(1, 4, Status);
        assert_eq!(t.sent(1, 5, InputRequest), [2, 3, 4]);
        assert_eq!(t.tracked(1), [(1, Menu), (5, InputRequest)]);
    }

    #[test]
    fn confirmations_and_statuses_replace_their_own_kind() {
        let t = Tracker::default();
        t.sent(1, 1, Confirmation);
        t.sent(1, 2, Status);
        assert_eq!(t.sent(1, 3, Confirmation), [1]);
        assert_eq!(t.sent(1, 4, Status), [2]);
        assert_eq!(t.tracked(1), [(3, Confirmation), (4, Status)]);
    }

    #[test]
    fn idle_chats_are_forgotten_past_the_bound_and_busy_ones_kept() {
        let t = Tracker::with_capacity(64);
        t.sent(0, 1, Menu);
        for chat in 1..10_000i64 {
            t.sent(chat * SHARDS as i64, 1, Menu);
            if chat % 10 == 0 {
                t.sent(0, chat as i32, Menu); // chat 0 stays busy (more often than the bound turns over)
            }
        }
        let shard = t.shards[0].lock().expect("lock").len();
        assert!(shard <= 64, "bounded: {shard}");
        assert!(!t.tracked(0).is_empty(), "the busy chat is kept");
        assert!(t.tracked(SHARDS as i64).is_empty(), "the first idle chat is forgotten");
        assert!(t.chats() <= 64 * SHARDS);
    }

    #[test]
    fn chats_are_independent_and_forget_drops_ids() {
        let t = Tracker::default();
        t.sent(1, 1, Menu);
        t.sent(2, 1, Menu);
        t.forget(1, &[1]);
        assert!(t.tracked(1).is_empty());
        assert_eq!(t.sent(2, 2, Menu), [1]);
    }
}
