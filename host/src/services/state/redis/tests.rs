//! The Redis store against a real `redis-server` of the test's own: the
//! conformance suite, fencing, Redis' own expiry, and Redis going away and
//! coming back.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use redis::AsyncCommands;
use vox_redis_server::RedisServer;

use super::super::conformance::{self, Expiry, dialogue};
use super::super::fence::fenced;
use super::*;

fn owners() -> Owners {
    Arc::new(|plugin: &str, version: Option<&str>, step: &str| match (plugin, version, step) {
        ("p", Some("v2"), "ask") => Some(("p", Some("v2"), "ask")),
        _ => None,
    })
}

fn store(redis: &RedisServer) -> RedisStore {
    RedisStore::open(&redis.url(), "test:", owners()).expect("a usable URL")
}

#[tokio::test]
async fn conformance_against_a_real_redis() {
    let Some(redis) = RedisServer::start() else { return };
    conformance::basics(&store(&redis), Expiry::Native).await;
    conformance::concurrent_writers(Arc::new(store(&redis))).await;
}

#[tokio::test]
async fn a_write_with_a_stale_lease_is_refused_and_leaves_the_newer_state() {
    let Some(redis) = RedisServer::start() else { return };
    let store = store(&redis);
    let key = StateKey { chat: 5, user: 5 };
    let mut conn = store.connection();
    // Replica A took the chat with lease 1, then B with lease 2.
    let _: () = conn.set(store.fence_key(5), 2).await.expect("fence");
    fenced(2, store.set(key, dialogue(2, None))).await.expect("the newest lease writes");
    let stale = fenced(1, store.set(key, dialogue(1, None))).await;
    assert!(stale.is_err(), "a paused replica's write after its lease was taken over");
    assert!(fenced(1, store.remove(key)).await.is_err(), "nor may it remove");
    let value = ValueKey { plugin: "p", key, name: "list".into() };
    let later = SystemTime::now() + Duration::from_secs(60);
    assert!(fenced(1, store.set_value(value.clone(), "[1]".into(), later)).await.is_err());
    assert_eq!(store.get(key).await.expect("get"), Some(dialogue(2, None)), "B's state stands");
    assert_eq!(store.fenced.load(Ordering::Relaxed), 3);
    // Other chats are not fenced by chat 5's lease; unfenced writes (one process) go through.
    fenced(1, store.set(StateKey { chat: 6, user: 6 }, dialogue(1, None))).await.expect("chat 6");
    store.set(key, dialogue(3, None)).await.expect("unfenced");
}

#[tokio::test]
async fn redis_expires_dialogues_an_hour_past_their_deadline_and_values_at_theirs() {
    let Some(redis) = RedisServer::start() else { return };
    let store = store(&redis);
    let key = StateKey { chat: 1, user: 2 };
    let deadline = SystemTime::now() + Duration::from_secs(300);
    store.set(key, dialogue(1, Some(deadline))).await.expect("set");
    let mut conn = store.connection();
    let ttl: i64 = conn.pttl("test:d:1:2").await.expect("pttl");
    let want = (300 + 3600) * 1000;
    assert!((want - 5_000..=want).contains(&ttl), "dialogue ttl {ttl} ms");
    let value = ValueKey { plugin: "p", key, name: "list".into() };
    store.set_value(value, "[1]".into(), SystemTime::now() + Duration::from_millis(200)).await.expect("set");
    let ttl: i64 = conn.pttl("test:v:p:1:2:list").await.expect("pttl");
    assert!((1..=200).contains(&ttl), "value ttl {ttl} ms");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let gone: bool = conn.exists("test:v:p:1:2:list").await.expect("exists");
    assert!(!gone, "Redis dropped the value itself");
}

#[tokio::test]
async fn a_dialogue_no_linked_plugin_declares_is_ignored() {
    let Some(redis) = RedisServer::start() else { return };
    let store = store(&redis);
    let mut conn = store.connection();
    let _: () = conn.set("test:d:1:1", r#"{"p":"gone","s":"ask","d":{}}"#).await.expect("set");
    let _: () = conn.set("test:d:2:2", "not json").await.expect("set");
    assert_eq!(store.get(StateKey { chat: 1, user: 1 }).await.expect("get"), None);
    assert_eq!(store.get(StateKey { chat: 2, user: 2 }).await.expect("get"), None);
    assert_eq!(store.dropped.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn redis_going_away_is_an_error_and_its_return_is_picked_up_without_a_restart() {
    let Some(mut redis) = RedisServer::start() else { return };
    let store = store(&redis);
    let key = StateKey { chat: 1, user: 1 };
    store.set(key, dialogue(1, None)).await.expect("set");
    redis.kill();
    assert!(store.get(key).await.is_err(), "Redis is down");
    assert!(!store.is_up());
    redis.restart();
    // The connection manager reconnects in the background with backoff.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match store.set(key, dialogue(2, None)).await {
            Ok(()) => break,
            Err(e) => assert!(tokio::time::Instant::now() < deadline, "not back after 15 s: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(store.get(key).await.expect("get"), Some(dialogue(2, None)));
    assert!(store.is_up());
}
