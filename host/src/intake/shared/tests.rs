//! The shared queues against a real `redis-server`, two "replicas" (two
//! queues over one Redis) taking chats from it: each chat's updates once and
//! in `update_id` order, whichever replica takes them; duplicates dropped
//! across replicas; a chat whose holder died is handled by the other after
//! the lease runs out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vox_redis_server::RedisServer;

use super::*;

/// Records (replica, chat, update id) in handling order; checks one chat is never handled twice at once.
#[derive(Default)]
struct Log {
    handled: Mutex<Vec<(u8, i64, u32)>>,
    running: Mutex<HashMap<i64, u32>>,
    overlaps: AtomicU64,
}

struct Replica {
    id: u8,
    log: Arc<Log>,
}

impl Handle for Replica {
    async fn handle(self: &Arc<Self>, update: Received) {
        let chat = chat_key(&update);
        if self.log.running.lock().expect("lock").insert(chat, update.id).is_some() {
            self.log.overlaps.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        self.log.handled.lock().expect("lock").push((self.id, chat, update.id));
        self.log.running.lock().expect("lock").remove(&chat);
    }
}

fn body(id: u32, chat: i64) -> String {
    serde_json::json!({
        "update_id": id,
        "message": {
            "message_id": id, "date": 1_700_000_000, "text": "hi",
            "chat": {"id": chat, "type": "private", "first_name": "A"},
            "from": {"id": chat, "is_bot": false, "first_name": "A"}
        }
    })
    .to_string()
}

async fn queue(redis: &RedisServer) -> Arc<SharedQueue> {
    let owners: crate::services::state::redis::Owners = Arc::new(|_: &str, _: Option<&str>, _: &str| None);
    SharedQueue::new(Arc::new(RedisStore::open(&redis.url(), "t:", owners).expect("url")))
}

async fn wait_for(log: &Log, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while log.handled.lock().expect("lock").len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "handled {} of {n}",
            log.handled.lock().expect("lock").len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_handle_each_chat_once_in_order_and_drop_duplicates() {
    let Some(redis) = RedisServer::start() else { return };
    let (a, b) = (queue(&redis).await, queue(&redis).await);
    let log = Arc::new(Log::default());
    let runs = [
        tokio::spawn(Arc::clone(&a).run(Arc::new(Replica { id: 1, log: Arc::clone(&log) }))),
        tokio::spawn(Arc::clone(&b).run(Arc::new(Replica { id: 2, log: Arc::clone(&log) }))),
    ];
    // Deliveries alternate between the replicas, as a round-robin proxy sends them.
    let mut id = 0;
    for round in 0..20 {
        for chat in 1..=6i64 {
            id += 1;
            let to = if id % 2 == 0 { &a } else { &b };
            assert_eq!(to.accept(id, chat, &body(id, chat)).await.expect("accept"), Accepted::New);
        }
        if round % 5 == 0 {
            // Telegram delivers an earlier update again, to the other replica.
            let again = id - 3;
            let chat = i64::from((again - 1) % 6 + 1);
            assert_eq!(b.accept(again, chat, &body(again, chat)).await.expect("accept"), Accepted::Duplicate);
        }
    }
    wait_for(&log, 120).await;
    a.stop();
    b.stop();
    for run in runs {
        tokio::time::timeout(Duration::from_secs(10), run).await.expect("stops").expect("join");
    }
    let handled = log.handled.lock().expect("lock").clone();
    assert_eq!(handled.len(), 120, "each update once");
    for chat in 1..=6i64 {
        let ids: Vec<u32> = handled.iter().filter(|(_, c, _)| *c == chat).map(|(_, _, id)| *id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted, "chat {chat} in update_id order");
        assert_eq!(ids.len(), 20);
    }
    assert_eq!(log.overlaps.load(Ordering::Relaxed), 0, "a chat was handled by two replicas at once");
    let by = |r: u8| handled.iter().filter(|(x, _, _)| *x == r).count();
    assert!(by(1) > 0 && by(2) > 0, "both replicas took chats: {} / {}", by(1), by(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_whose_holder_died_goes_on_elsewhere_after_the_lease_and_its_writes_are_fenced() {
    let Some(redis) = RedisServer::start() else { return };
    let dead = queue(&redis).await;
    dead.accept(1, 7, &body(1, 7)).await.expect("accept");
    dead.accept(2, 7, &body(2, 7)).await.expect("accept");
    // The dead replica leased chat 7 (as its taker would) and then vanished.
    let mut conn = dead.conn.clone();
    let chat: Option<String> = redis::cmd("LPOP").arg("t:ready").query_async(&mut conn).await.expect("lpop");
    assert_eq!(chat.as_deref(), Some("7"));
    let (token, head) = dead.take(7).await.expect("take").expect("leased");
    assert_eq!(head, body(1, 7));

    let alive = queue(&redis).await;
    let log = Arc::new(Log::default());
    let started = tokio::time::Instant::now();
    let run = tokio::spawn(Arc::clone(&alive).run(Arc::new(Replica { id: 2, log: Arc::clone(&log) })));
    wait_for(&log, 2).await;
    let waited = started.elapsed();
    assert!(waited >= LEASE - Duration::from_millis(500), "taken over before the lease ran out: {waited:?}");
    assert_eq!(
        log.handled.lock().expect("lock").iter().map(|(_, _, id)| *id).collect::<Vec<_>>(),
        vec![1, 2],
        "the dead replica's update is handled again, then the next, in order"
    );
    let newest: u64 = redis::cmd("GET").arg("t:fence:7").query_async(&mut conn).await.expect("get");
    assert!(newest > token, "the new holder's token ({newest}) fences the dead one's ({token})");
    // The dead replica, back from a pause, cannot finish the update it held.
    assert_eq!(dead.done(7, token, &head).await, None);
    alive.stop();
    tokio::time::timeout(Duration::from_secs(10), run).await.expect("stops").expect("join");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_popped_by_a_replica_that_died_before_leasing_it_is_offered_again() {
    let Some(redis) = RedisServer::start() else { return };
    let dead = queue(&redis).await;
    dead.accept(1, 9, &body(1, 9)).await.expect("accept");
    let mut conn = dead.conn.clone();
    // Its taker popped the chat, then the process died before the TAKE script.
    let chat: Option<String> = redis::cmd("LPOP").arg("t:ready").query_async(&mut conn).await.expect("lpop");
    assert_eq!(chat.as_deref(), Some("9"));
    dead.accept(2, 9, &body(2, 9)).await.expect("a later update of the chat");

    let alive = queue(&redis).await;
    let log = Arc::new(Log::default());
    let run = tokio::spawn(Arc::clone(&alive).run(Arc::new(Replica { id: 2, log: Arc::clone(&log) })));
    wait_for(&log, 2).await;
    assert_eq!(
        log.handled.lock().expect("lock").iter().map(|(_, _, id)| *id).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(alive.reoffered.load(Ordering::Relaxed) >= 1, "the sweep offered it again");
    alive.stop();
    tokio::time::timeout(Duration::from_secs(10), run).await.expect("stops").expect("join");
}
