//! The in-memory state store: sharded maps behind std mutexes. Also the
//! durable store's read side (see [`super::sqlite`]).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use crate::services::ids::IdMap;

use super::{DialogueState, StateError, StateKey, StateStore, ValueKey};
use crate::metrics::{Collect, Scraped};

const SHARDS: usize = 16;

#[derive(Debug, Default)]
struct Shard {
    dialogues: IdMap<StateKey, DialogueState>,
    values: HashMap<ValueKey, (String, SystemTime)>,
}

/// Keeps state in process memory; lost on restart.
///
/// Std mutexes, not tokio's: no lock is held across an await, and a critical
/// section is one hash-map operation, so contention stays short even across
/// chats served in parallel. Sharding keeps those chats off one lock.
#[derive(Debug)]
pub struct MemoryStore {
    shards: [Mutex<Shard>; SHARDS],
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self { shards: std::array::from_fn(|_| Mutex::new(Shard::default())) }
    }
}

fn shard_of(key: StateKey) -> usize {
    let h = (key.chat as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (key.user as u64);
    (h as usize) % SHARDS
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // A panic while holding the lock cannot leave a map half-updated (each
    // section is one call), so a poisoned lock is still safe to use.
    shard.lock().unwrap_or_else(|p| p.into_inner())
}

impl MemoryStore {
    fn shard(&self, key: StateKey) -> MutexGuard<'_, Shard> {
        lock(&self.shards[shard_of(key)])
    }

    /// How many dialogues are open.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).dialogues.len()).sum()
    }

    /// Whether no dialogue is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces the dialogue of `key`, returning the one it replaces.
    pub(super) fn put(&self, key: StateKey, state: DialogueState) -> Option<DialogueState> {
        self.shard(key).dialogues.insert(key, state)
    }

    /// Removes the dialogue of `key`.
    pub(super) fn take(&self, key: StateKey) -> Option<DialogueState> {
        self.shard(key).dialogues.remove(&key)
    }

    /// The dialogue of `key`.
    pub(super) fn peek(&self, key: StateKey) -> Option<DialogueState> {
        self.shard(key).dialogues.get(&key).cloned()
    }

    /// Drops dialogues expired at `now`; returns how many.
    pub(super) fn purge_dialogues(&self, now: SystemTime) -> usize {
        let mut purged = 0;
        for shard in &self.shards {
            let map = &mut lock(shard).dialogues;
            let before = map.len();
            map.retain(|_, s| !s.is_expired(now));
            purged += before - map.len();
        }
        purged
    }
}

#[async_trait::async_trait]
impl StateStore for MemoryStore {
    async fn get(&self, key: StateKey) -> Result<Option<DialogueState>, StateError> {
        Ok(self.peek(key))
    }

    async fn set(&self, key: StateKey, state: DialogueState) -> Result<(), StateError> {
        self.put(key, state);
        Ok(())
    }

    async fn remove(&self, key: StateKey) -> Result<Option<DialogueState>, StateError> {
        Ok(self.take(key))
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StateError> {
        let mut purged = self.purge_dialogues(now);
        for shard in &self.shards {
            let map = &mut lock(shard).values;
            let before = map.len();
            map.retain(|_, (_, expires)| *expires > now);
            purged += before - map.len();
        }
        Ok(purged)
    }

    async fn get_value(&self, key: &ValueKey, now: SystemTime) -> Result<Option<String>, StateError> {
        let shard = self.shard(key.key);
        Ok(shard.values.get(key).filter(|(_, expires)| *expires > now).map(|(v, _)| v.clone()))
    }

    async fn set_value(&self, key: ValueKey, value: String, expires: SystemTime) -> Result<(), StateError> {
        self.shard(key.key).values.insert(key, (value, expires));
        Ok(())
    }

    async fn remove_value(&self, key: &ValueKey) -> Result<(), StateError> {
        self.shard(key.key).values.remove(key);
        Ok(())
    }
}

impl Collect for MemoryStore {
    fn collect(&self, out: &mut Scraped) {
        super::dialogues_gauge(out, "memory", self.len());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::conformance;
    use super::MemoryStore;

    #[tokio::test]
    async fn memory_store_conforms() {
        conformance::basics(&MemoryStore::default(), conformance::Expiry::Sweep).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_store_keeps_concurrent_writers_apart() {
        conformance::concurrent_writers(Arc::new(MemoryStore::default())).await;
    }
}
