//! Outgoing rate limits against a fake that enforces Telegram's flood limits
//! (30 messages a second per bot, one a second per private chat with short
//! bursts, 20 a minute per group): with the host's throttle on, a burst of
//! replies to many chats goes out with no 429; with it off, the same burst
//! provokes them (so the fake really enforces what the first test relies on).

use std::time::{Duration, Instant};

use vox_testkit::TestHost;

async fn burst(throttle: bool, chats: i64, per_chat: usize) -> (TestHost, usize, Duration) {
    let host = TestHost::builder()
        .env("VOX__TELEGRAM__THROTTLE", if throttle { "true" } else { "false" })
        .start()
        .await;
    host.api().enforce_rate_limits(true);
    let started = Instant::now();
    let mut users: Vec<_> =
        (1..=chats).map(|i| host.user(80_000 + i, "Гость").with_wait(Duration::from_secs(120))).collect();
    for user in &mut users {
        for _ in 0..per_chat {
            user.send_text("просто текст");
        }
    }
    for user in &mut users {
        for _ in 0..per_chat {
            user.expect_text("Я не понял").await;
        }
    }
    let took = started.elapsed();
    let refused = host.api().calls().iter().filter(|c| c.status == 429).count();
    (host, refused, took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_throttle_a_burst_to_many_chats_gets_no_429() {
    let (host, refused, took) = burst(true, 30, 5).await;
    assert_eq!(refused, 0, "the throttle kept every send inside the limits");
    // 150 messages at 25 a second: about 6 s, not more than twice that.
    assert!(took >= Duration::from_secs(4), "150 sends cannot all go at once: {took:?}");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_it_the_same_burst_is_refused_and_retried() {
    let (host, refused, _) = burst(false, 30, 5).await;
    assert!(refused > 0, "the fake enforces the limits");
    host.stop().await.expect("clean stop");
}

/// The 1,000-reply measurement of docs/RELIABILITY.md (about 40 s):
/// `cargo test -p vox-testkit --test e2e -- --ignored --nocapture a_burst_of_1000`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a 40-second measurement; run it by name"]
async fn a_burst_of_1000_replies_to_100_chats() {
    let (host, refused, took) = burst(true, 100, 10).await;
    println!("1000 replies to 100 chats: {took:.1?}, 429s: {refused}");
    assert_eq!(refused, 0);
    host.stop().await.expect("clean stop");
}
