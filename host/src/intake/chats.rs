//! Accepted updates, queued per chat: one chat's updates are handled one at a
//! time and in `update_id` order, different chats in parallel, whether they
//! were polled or delivered to the webhook. A chat with work has one task
//! draining it; the task ends when the chat's queue is empty, so an idle bot
//! holds nothing. The total is bounded: a full queue refuses a webhook's
//! update (Telegram delivers it again later) and holds polling back
//! ([`Chats::push_waiting`]). With the SQLite store the queues are
//! durable: the webhook keeps each update in the store's inbox before it is
//! pushed here, a handled one is forgotten, and [`Chats::replay`] pushes what a
//! killed process left at the next start.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use tokio::sync::Notify;

use super::Handle;
use crate::dispatch::received::Received;
use crate::metrics::{Collect, Kind, Scraped};
use crate::services::ids::IdMap;
use crate::services::state::sqlite::Inbox;

/// The queue is at its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Per-chat queues over a handler.
pub struct Chats<H> {
    handler: Arc<H>,
    /// A chat is a key while a task drains it; its queue holds what waits.
    queues: Mutex<IdMap<i64, VecDeque<Received>>>,
    /// Accepted and not yet handled (queued or being handled).
    pending: AtomicUsize,
    capacity: usize,
    idle: Notify,
    /// Signalled when an update finishes with the queues at their bound.
    room: Notify,
    /// Where accepted updates are kept until handled (SQLite store).
    inbox: Option<Inbox>,
    /// Updates a previous process accepted and did not handle, pushed at start.
    replayed: AtomicUsize,
}

impl<H: Handle> Chats<H> {
    /// Queues of `capacity` updates in all over `handler`, in memory only.
    pub fn new(handler: Arc<H>, capacity: usize) -> Arc<Self> {
        Self::build(handler, capacity, None)
    }

    /// As [`Chats::new`], each update forgotten in `inbox` once handled.
    pub fn durable(handler: Arc<H>, capacity: usize, inbox: Inbox) -> Arc<Self> {
        Self::build(handler, capacity, Some(inbox))
    }

    fn build(handler: Arc<H>, capacity: usize, inbox: Option<Inbox>) -> Arc<Self> {
        Arc::new(Self {
            handler,
            queues: Mutex::new(IdMap::default()),
            pending: AtomicUsize::new(0),
            capacity,
            idle: Notify::new(),
            room: Notify::new(),
            inbox,
            replayed: AtomicUsize::new(0),
        })
    }

    /// Where accepted updates are kept until handled, if anywhere.
    pub fn inbox(&self) -> Option<&Inbox> {
        self.inbox.as_ref()
    }

    /// Updates replayed from the inbox at start.
    pub fn replayed(&self) -> usize {
        self.replayed.load(Ordering::Relaxed)
    }

    /// Pushes every update the inbox still keeps — accepted by an earlier
    /// process that stopped before handling them — past the bound (they were
    /// accepted already). One the handler can no longer read is logged and
    /// forgotten. Returns how many were pushed.
    pub async fn replay(self: &Arc<Self>) -> usize {
        let Some(inbox) = &self.inbox else { return 0 };
        let kept = match inbox.waiting().await {
            Ok(kept) => kept,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the accepted updates kept by the last run; they wait for the next start");
                return 0;
            }
        };
        let mut pushed = 0;
        for (id, body) in kept {
            match Received::parse(body.as_bytes()) {
                Ok(update) => {
                    self.pending.fetch_add(1, Ordering::AcqRel);
                    self.enqueue(update);
                    pushed += 1;
                }
                Err(e) => {
                    tracing::error!(update_id = id, error = %e, "a kept update cannot be read any more; forgotten");
                    inbox.handled(id);
                }
            }
        }
        self.replayed.fetch_add(pushed, Ordering::Relaxed);
        if pushed > 0 {
            tracing::info!(updates = pushed, "handling the updates the last run accepted and did not handle");
        }
        pushed
    }

    /// Accepted updates not handled yet.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// Queues `update` behind its chat's earlier ones (must run on a Tokio
    /// runtime); [`Full`] when the bound is reached.
    pub fn push(self: &Arc<Self>, update: Received) -> Result<(), Full> {
        if self.pending.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.done();
            return Err(Full);
        }
        self.enqueue(update);
        Ok(())
    }

    /// Queues `update` behind its chat's earlier ones once the queues are
    /// below their bound (polling: the next batch is asked for only then).
    pub async fn push_waiting(self: &Arc<Self>, update: Received) {
        wait_until(&self.room, || self.pending() < self.capacity).await;
        self.pending.fetch_add(1, Ordering::AcqRel);
        self.enqueue(update);
    }

    /// Queues a counted update behind its chat's earlier ones.
    fn enqueue(self: &Arc<Self>, update: Received) {
        let Some(key) = update.chat_key() else {
            tokio::spawn(Arc::clone(self).drain(None, update));
            return;
        };
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        match queues.get_mut(&key) {
            Some(queue) => {
                // Arrival is almost always in order; a late lower id goes
                // before the higher ones still waiting.
                let at = queue.iter().rposition(|u| u.id < update.id).map_or(0, |i| i + 1);
                queue.insert(at, update);
            }
            None => {
                queues.insert(key, VecDeque::new());
                drop(queues);
                tokio::spawn(Arc::clone(self).drain(Some(key), update));
            }
        }
    }

    /// Handles `first`, then whatever its chat queued meanwhile, then ends.
    async fn drain(self: Arc<Self>, key: Option<i64>, first: Received) {
        let mut update = first;
        loop {
            let id = update.id;
            // A panic here would leave the chat's queue without a drainer forever.
            if AssertUnwindSafe(self.handler.handle(update)).catch_unwind().await.is_err() {
                tracing::error!(
                    update_id = id,
                    chat = key,
                    "handling an update panicked; going on with the chat's next"
                );
            }
            if let Some(inbox) = &self.inbox {
                inbox.handled(id);
            }
            self.done();
            let Some(key) = key else { return };
            let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
            match queues.get_mut(&key).and_then(VecDeque::pop_front) {
                Some(next) => update = next,
                None => {
                    queues.remove(&key);
                    return;
                }
            }
        }
    }

    fn done(&self) {
        let before = self.pending.fetch_sub(1, Ordering::AcqRel);
        if before == 1 {
            self.idle.notify_waiters();
        }
        if before >= self.capacity {
            self.room.notify_waiters();
        }
    }

    /// Resolves once every accepted update has been handled.
    pub async fn idle(&self) {
        wait_until(&self.idle, || self.pending() == 0).await;
    }
}

/// Resolves once `done` holds, looked at again each time `signal` is notified
/// (registered before each look, so a notification between the look and the
/// wait is not lost).
async fn wait_until(signal: &Notify, done: impl Fn() -> bool) {
    loop {
        let notified = signal.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if done() {
            return;
        }
        notified.await;
    }
}

impl<H: Handle> Collect for Chats<H> {
    fn collect(&self, out: &mut Scraped) {
        out.one(
            "vox_updates_queued",
            "Updates taken in (polled, or delivered to the webhook) and not handled yet",
            Kind::Gauge,
            self.pending() as f64,
        );
        out.one(
            "vox_updates_replayed",
            "Updates an earlier run accepted and did not handle, handled at this start (SQLite store)",
            Kind::Counter,
            self.replayed() as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use std::collections::HashMap;

    use super::*;

    /// Records (chat, update id) in handling order; chat 1 is slow.
    #[derive(Default)]
    struct Log {
        order: Mutex<Vec<(i64, u32)>>,
        running: Mutex<HashMap<i64, bool>>,
        overlaps: AtomicUsize,
    }

    impl Handle for Log {
        async fn handle(self: &Arc<Self>, update: Received) {
            let chat = update.chat_key().unwrap_or(0);
            if self.running.lock().expect("lock").insert(chat, true) == Some(true) {
                self.overlaps.fetch_add(1, Ordering::Relaxed);
            }
            if chat == 1 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            if update.id == 666 {
                self.running.lock().expect("lock").insert(chat, false);
                panic!("handler bug");
            }
            self.order.lock().expect("lock").push((chat, update.id));
            self.running.lock().expect("lock").insert(chat, false);
        }
    }

    fn text(id: u32, chat: i64) -> Received {
        let json = serde_json::json!({
            "update_id": id,
            "message": {
                "message_id": id, "date": 1_700_000_000, "text": "hi",
                "chat": {"id": chat, "type": "private", "first_name": "A"},
                "from": {"id": chat, "is_bot": false, "first_name": "A"}
            }
        });
        Received::parse(json.to_string().as_bytes()).expect("an update")
    }

    #[tokio::test]
    async fn one_chat_in_order_and_alone_chats_in_parallel() {
        let log = Arc::new(Log::default());
        let chats = Chats::new(Arc::clone(&log), 100);
        for (id, chat) in [(1, 1), (2, 2), (3, 1), (5, 2), (4, 1), (666, 1), (7, 1)] {
            chats.push(text(id, chat)).expect("room");
        }
        chats.idle().await;
        let order = log.order.lock().expect("lock").clone();
        let of = |c: i64| order.iter().filter(|(chat, _)| *chat == c).map(|(_, id)| *id).collect::<Vec<_>>();
        assert_eq!(of(1), vec![1, 3, 4, 7], "chat 1 in update_id order, past the panicking update");
        assert_eq!(of(2), vec![2, 5]);
        assert_eq!(order.first(), Some(&(2, 2)), "chat 2 did not wait for slow chat 1: {order:?}");
        assert_eq!(log.overlaps.load(Ordering::Relaxed), 0, "one chat's updates overlapped");
        assert!(chats.queues.lock().expect("lock").is_empty(), "idle chats hold no task");
    }

    #[tokio::test]
    async fn a_late_lower_id_goes_before_the_waiting_higher_ones() {
        let log = Arc::new(Log::default());
        let chats = Chats::new(Arc::clone(&log), 100);
        for id in [10, 13, 12, 11] {
            chats.push(text(id, 1)).expect("room");
        }
        chats.idle().await;
        assert_eq!(log.order.lock().expect("lock").clone(), vec![(1, 10), (1, 11), (1, 12), (1, 13)]);
    }

    /// Queues of 2 over `log`, both places taken by (slow) chat 1.
    fn both_taken(log: &Arc<Log>) -> Arc<Chats<Log>> {
        let chats = Chats::new(Arc::clone(log), 2);
        chats.push(text(1, 1)).expect("room");
        chats.push(text(2, 1)).expect("room");
        chats
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_frees_its_room_as_updates_finish() {
        let log = Arc::new(Log::default());
        let chats = both_taken(&log);
        assert_eq!(chats.push(text(3, 1)), Err(Full));
        assert_eq!(chats.pending(), 2);
        chats.idle().await;
        chats.push(text(3, 1)).expect("room again");
        chats.idle().await;
        assert_eq!(log.order.lock().expect("lock").len(), 3);
    }

    #[tokio::test]
    async fn a_waiting_push_goes_in_once_an_update_finishes() {
        let log = Arc::new(Log::default());
        let chats = both_taken(&log);
        tokio::time::timeout(Duration::from_secs(5), chats.push_waiting(text(3, 2)))
            .await
            .expect("room came");
        assert!(chats.pending() <= 2, "the bound held: {}", chats.pending());
        chats.idle().await;
        let order = log.order.lock().expect("lock").clone();
        assert_eq!(order.len(), 3);
        assert_eq!(order[0], (1, 1), "the third went in only after the first finished: {order:?}");
    }
}
