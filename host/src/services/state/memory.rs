//! The in-memory state store: sharded maps behind std mutexes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::{DialogueState, StateError, StateKey, StateStore};

const SHARDS: usize = 16;

/// Keeps state in process memory; lost on restart.
///
/// Std mutexes, not tokio's: no lock is held across an await, and a critical
/// section is one hash-map operation, so contention stays short even across
/// chats served in parallel. Sharding keeps those chats off one lock.
#[derive(Debug)]
pub struct MemoryStore {
    shards: [Mutex<HashMap<StateKey, DialogueState>>; SHARDS],
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self { shards: std::array::from_fn(|_| Mutex::new(HashMap::new())) }
    }
}

impl MemoryStore {
    fn shard(&self, key: StateKey) -> std::sync::MutexGuard<'_, HashMap<StateKey, DialogueState>> {
        let h = (key.chat as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (key.user as u64);
        let shard = &self.shards[(h as usize) % SHARDS];
        // A panic while holding the lock cannot leave a map half-updated (each
        // section is one call), so a poisoned lock is still safe to use.
        shard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many dialogues are open.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len()).sum()
    }

    /// Whether no dialogue is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait::async_trait]
impl StateStore for MemoryStore {
    async fn get(&self, key: StateKey) -> Result<Option<DialogueState>, StateError> {
        Ok(self.shard(key).get(&key).cloned())
    }

    async fn set(&self, key: StateKey, state: DialogueState) -> Result<(), StateError> {
        self.shard(key).insert(key, state);
        Ok(())
    }

    async fn remove(&self, key: StateKey) -> Result<Option<DialogueState>, StateError> {
        Ok(self.shard(key).remove(&key))
    }

    async fn purge_expired(&self, now: Instant) -> Result<usize, StateError> {
        let mut purged = 0;
        for shard in &self.shards {
            let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
            let before = map.len();
            map.retain(|_, s| !s.is_expired(now));
            purged += before - map.len();
        }
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn memory_store_conforms() {
        super::super::conformance(&super::MemoryStore::default()).await;
    }
}
