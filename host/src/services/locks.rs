//! Per-user async locks: one operation of a user at a time (view send, rename,
//! delete), across chats and concurrent updates.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vox_plugin::host::UserLock;

/// Above this many entries, idle locks are dropped on the next insert.
const PRUNE_ABOVE: usize = 1024;

/// The table of user locks.
#[derive(Debug, Default)]
pub struct UserLocks {
    locks: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
}

impl UserLocks {
    /// Takes `user`'s lock, waiting at most `wait`.
    pub async fn lock(&self, user: i64, wait: Duration) -> Option<UserLock> {
        let mutex = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            if locks.len() > PRUNE_ABOVE {
                // Only the table holds an idle lock; a held or awaited one has more owners.
                locks.retain(|_, m| Arc::strong_count(m) > 1);
            }
            Arc::clone(locks.entry(user).or_default())
        };
        match mutex.clone().try_lock_owned() {
            Ok(guard) => Some(UserLock::new(guard)),
            Err(_) => tokio::time::timeout(wait, mutex.lock_owned()).await.ok().map(UserLock::new),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_second_lock_waits_then_gives_up() {
        let locks = UserLocks::default();
        let held = locks.lock(7, Duration::ZERO).await.expect("free lock");
        assert!(locks.lock(7, Duration::from_millis(500)).await.is_none(), "held lock times out");
        assert!(locks.lock(8, Duration::ZERO).await.is_some(), "other users are independent");
        drop(held);
        assert!(locks.lock(7, Duration::ZERO).await.is_some(), "released lock is free again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_gets_the_lock_when_released_in_time() {
        let locks = Arc::new(UserLocks::default());
        let held = locks.lock(1, Duration::ZERO).await.expect("free");
        let waiter = tokio::spawn({
            let locks = Arc::clone(&locks);
            async move { locks.lock(1, Duration::from_secs(2)).await.is_some() }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(held);
        assert!(waiter.await.expect("join"));
    }
}
