//! The message tracker (VoxPersona's MessageTracker semantics): remembers the
//! bot's menus, prompts, confirmations and statuses per chat, and says which of
//! them a newly sent message makes stale.

use std::collections::HashMap;
use std::sync::Mutex;

use vox_plugin::MessageKind;

/// Tracked messages per chat beyond which the oldest are forgotten (never deleted).
const MAX_PER_CHAT: usize = 64;

/// Per-chat record of tracked bot messages.
#[derive(Debug, Default)]
pub struct Tracker {
    chats: Mutex<HashMap<i64, Vec<(i32, MessageKind)>>>,
}

impl Tracker {
    /// Records a sent message and returns the ids it makes stale, which the
    /// caller deletes. `Info` messages are never deleted, so never tracked.
    pub fn sent(&self, chat: i64, id: i32, kind: MessageKind) -> Vec<i32> {
        let mut chats = self.chats.lock().unwrap_or_else(|p| p.into_inner());
        let tracked = chats.entry(chat).or_default();
        let mut stale = Vec::new();
        tracked.retain(|&(old, old_kind)| {
            let replace = kind.replaces(old_kind);
            if replace {
                stale.push(old);
            }
            !replace
        });
        if kind != MessageKind::Info {
            tracked.push((id, kind));
            if tracked.len() > MAX_PER_CHAT {
                tracked.remove(0);
            }
        }
        if tracked.is_empty() {
            chats.remove(&chat);
        }
        stale
    }

    /// Forgets messages deleted by other means.
    pub fn forget(&self, chat: i64, ids: &[i32]) {
        let mut chats = self.chats.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tracked) = chats.get_mut(&chat) {
            tracked.retain(|(id, _)| !ids.contains(id));
            if tracked.is_empty() {
                chats.remove(&chat);
            }
        }
    }

    /// The chat's tracked messages, oldest first.
    pub fn tracked(&self, chat: i64) -> Vec<(i32, MessageKind)> {
        self.chats.lock().unwrap_or_else(|p| p.into_inner()).get(&chat).cloned().unwrap_or_default()
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
    fn chats_are_independent_and_forget_drops_ids() {
        let t = Tracker::default();
        t.sent(1, 1, Menu);
        t.sent(2, 1, Menu);
        t.forget(1, &[1]);
        assert!(t.tracked(1).is_empty());
        assert_eq!(t.sent(2, 2, Menu), [1]);
    }
}
