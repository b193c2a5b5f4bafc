//! Deliveries already taken, by `update_id`: Telegram delivers an update again
//! when it did not see our answer (a lost response, a timeout), for up to a
//! day. A bounded window of recent ids is enough for one process: a retry
//! comes soon after the delivery whose answer was lost, and an update that was
//! never acknowledged was never taken, so it is no duplicate.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// Update ids remembered at most (~1 MiB when full).
pub const WINDOW: usize = 65_536;

/// The most recent update ids taken.
#[derive(Debug)]
pub struct Seen {
    inner: Mutex<Window>,
}

#[derive(Debug, Default)]
struct Window {
    ids: HashSet<u32>,
    order: VecDeque<u32>,
    capacity: usize,
}

impl Default for Seen {
    fn default() -> Self {
        Self::with_capacity(WINDOW)
    }
}

impl Seen {
    /// A window of `capacity` ids.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { inner: Mutex::new(Window { capacity: capacity.max(1), ..Window::default() }) }
    }

    /// Records `id`; false when it was taken before (a duplicate delivery).
    pub fn first_time(&self, id: u32) -> bool {
        let mut w = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !w.ids.insert(id) {
            return false;
        }
        w.order.push_back(id);
        if w.order.len() > w.capacity
            && let Some(old) = w.order.pop_front()
        {
            w.ids.remove(&old);
        }
        true
    }

    /// Forgets `id`: it was refused after all (queue full, shutting down), so
    /// Telegram's next delivery of it is no duplicate.
    pub fn forget(&self, id: u32) {
        let mut w = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if w.ids.remove(&id)
            && let Some(at) = w.order.iter().rposition(|&x| x == id)
        {
            w.order.remove(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_delivery_is_a_duplicate_until_it_leaves_the_window() {
        let seen = Seen::with_capacity(3);
        assert!(seen.first_time(10));
        assert!(!seen.first_time(10));
        for id in [11, 12, 13] {
            assert!(seen.first_time(id));
        }
        // 10 left the window (the oldest of four); 11..13 are still there.
        assert!(seen.first_time(10));
        assert!(!seen.first_time(13));
    }

    #[test]
    fn a_forgotten_id_is_taken_again() {
        let seen = Seen::with_capacity(8);
        assert!(seen.first_time(5));
        seen.forget(5);
        assert!(seen.first_time(5));
        seen.forget(99);
    }
}
