//! Telegram misbehaving: rate limits and slow answers are waited out.

use std::time::Duration;

use vox_testkit::{Fault, TestHost};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_on_send_is_retried_after_retry_after() {
    let host = TestHost::builder().start().await;
    host.api().fault(Some("sendMessage"), Fault::RetryAfter(1), 1);
    let mut alice = host.user(5001, "Алиса");
    alice.send_text("/start");
    alice.expect_text("Главное меню").await;
    let sends: Vec<u16> =
        host.api().calls().iter().filter(|c| c.method == "sendMessage").map(|c| c.status).collect();
    assert_eq!(sends, [429, 200]);
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_telegram_delays_but_does_not_lose_the_reply() {
    let host = TestHost::builder().start().await;
    host.api().fault(Some("sendMessage"), Fault::Delay(Duration::from_millis(700)), 1);
    let mut alice = host.user(5002, "Алиса");
    alice.send_text("/start");
    alice.expect_text("Главное меню").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_on_send_is_tried_again_and_the_reply_arrives_once() {
    let host = TestHost::builder().start().await;
    host.api().fault(Some("sendMessage"), Fault::Drop, 2);
    let mut alice = host.user(5003, "Алиса");
    alice.send_text("/start");
    alice.expect_text("Главное меню").await;
    let sends: Vec<u16> =
        host.api().calls().iter().filter(|c| c.method == "sendMessage").map(|c| c.status).collect();
    assert_eq!(sends, [0, 0, 200], "two dropped, the third went through");
    assert_eq!(alice.visible().iter().filter(|m| m.body().contains("Главное меню")).count(), 1);
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_that_never_gets_through_gets_the_user_an_apology() {
    let host = TestHost::builder().start().await;
    host.api().fault(Some("sendMessage"), Fault::Drop, 4);
    let mut alice = host.user(5004, "Алиса");
    alice.send_text("/start");
    alice.expect_text("Что-то пошло не так").await;
    alice.send_text("/start");
    alice.expect_text("Главное меню").await;
    host.stop().await.expect("clean stop");
}

/// A network failure of the first calls at start (the dispatcher's getMe) is
/// retried: the host starts and serves instead of exiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn getme_failing_at_start_is_retried_and_the_host_serves() {
    let host = TestHost::builder().fault("getMe", Fault::Drop, 2).start().await;
    let mut alice = host.user(4801, "Алиса");
    alice.send_text("/start");
    alice.expect_text("Главное меню").await;
    host.stop().await.expect("clean stop");
}

/// A long poll that gets no answer, or a 429, is asked again (after 1 s, or
/// `retry_after`), and the update sent meanwhile is served once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_poll_is_asked_again_and_the_update_sent_meanwhile_is_served_once() {
    for fault in [Fault::Drop, Fault::RetryAfter(1)] {
        let host = TestHost::builder().start().await;
        host.api().fault(Some("getUpdates"), fault.clone(), 1);
        let polls = || -> Vec<u16> {
            host.api().calls().iter().filter(|c| c.method == "getUpdates").map(|c| c.status).collect()
        };
        // The poll in flight when the fault was set ends normally; the next one fails.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while polls().iter().all(|&s| s == 200) {
            assert!(tokio::time::Instant::now() < deadline, "{fault:?}: no poll failed: {:?}", polls());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut alice = host.user(4802, "Алиса");
        alice.send_text("/start");
        alice.expect_text("Главное меню").await;
        let polls = polls();
        let failed = polls.iter().position(|&s| s != 200).expect("the failed poll");
        assert!(polls.len() > failed + 1, "{fault:?}: asked again: {polls:?}");
        assert!(polls[failed + 1..].iter().all(|&s| s == 200), "{fault:?}: {polls:?}");
        assert_eq!(
            alice.visible().iter().filter(|m| m.body().contains("Главное меню")).count(),
            1,
            "{fault:?}"
        );
        host.stop().await.expect("clean stop");
    }
}

/// Each poll's offset tells Telegram what the host took (a stop confirms the
/// last), so a restarted host does not get those updates again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_taken_before_a_restart_are_not_served_again() {
    let mut host = TestHost::builder().start().await;
    let mut alice = host.user(4803, "Алиса");
    for _ in 0..3 {
        alice.send_text("/start");
        alice.expect_text("Главное меню").await;
    }
    host.restart().await;
    alice.send_text("/cancel");
    alice.expect_text("Нечего отменять").await;
    let menus = host.api().calls().iter().filter(|c| c.method == "sendMessage").count();
    assert_eq!(menus, 4, "three menus and the /cancel answer, nothing replayed after the restart");
    host.stop().await.expect("clean stop");
}

/// Polled updates wait in the same per-chat queues as the webhook's, and
/// `/metrics` shows how many: none once every update is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polled_updates_waiting_show_on_metrics() {
    let host = TestHost::builder().start().await;
    let mut alice = host.user(4804, "Алиса");
    alice.send_text("/start");
    alice.expect_text("Главное меню").await;
    // The reply may leave before its update is counted as handled.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let metrics = loop {
        let (_, metrics) =
            vox_testkit::http_get(&format!("{}/metrics", host.ops_url())).await.expect("GET /metrics");
        let queued = vox_testkit::metric(&metrics, "vox_updates_queued");
        if queued == Some(0.0) || tokio::time::Instant::now() > deadline {
            break metrics;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(vox_testkit::metric(&metrics, "vox_updates_queued"), Some(0.0), "{metrics}");
    assert_eq!(vox_testkit::metric(&metrics, "vox_updates_replayed_total"), Some(0.0), "{metrics}");
    host.stop().await.expect("clean stop");
}
