//! Dialogues in Redis (`state.backend = "redis"`) against a real
//! `redis-server` of the test's own: a dialogue survives a restart of the
//! host; while Redis is away the user's update waits (and `/healthz` says
//! so) instead of being served without its dialogue, and is served once
//! Redis is back — no host restart.

use std::time::Duration;

use vox_redis_server::RedisServer;
use vox_testkit::{TestHostBuilder, http_get};

use crate::reports_fixture as fx;

const ALICE: i64 = 9201;

fn on_redis(builder: TestHostBuilder, redis: &RedisServer) -> TestHostBuilder {
    builder
        .env("VOX__STATE__BACKEND", "redis")
        .env("VOX__REDIS__URL", &redis.url())
        .env("VOX__REDIS__UNAVAILABLE_AFTER_SECS", "1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialogue_kept_in_redis_survives_a_restart_of_the_host() {
    let Some(redis) = RedisServer::start() else { return };
    let mut host = on_redis(fx::host("v2", fx::reports(ALICE, 3), ""), &redis).start().await;
    let mut alice = host.user(ALICE, "Алиса").with_wait(Duration::from_secs(20));
    fx::open_list(&mut alice).await;
    alice.press("Посмотреть");
    alice.expect_text("Какой отчет прислать?").await;
    host.restart().await;
    alice.send_text("3");
    alice.expect_text("Прислать отчет №3 «Отчет номер 3»?").await;
    alice.press("Да, прислать");
    let doc = alice.expect_document().await;
    assert_eq!(doc.caption.as_deref(), Some("№3: Отчет номер 3"));
    assert!(!host.dir().join("data/state.sqlite3").exists(), "no SQLite file with the Redis backend");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_away_an_update_waits_and_is_served_when_it_is_back() {
    let Some(mut redis) = RedisServer::start_persistent() else { return };
    let host = on_redis(fx::host("v2", fx::reports(ALICE, 3), ""), &redis).start().await;
    let mut alice = host.user(ALICE, "Алиса").with_wait(Duration::from_secs(20));
    fx::open_list(&mut alice).await;
    alice.press("Посмотреть");
    alice.expect_text("Какой отчет прислать?").await;

    redis.kill();
    alice.send_text("2");
    let healthz = format!("{}/healthz", host.ops_url());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = http_get(&healthz).await.expect("GET /healthz");
        if status == 503 {
            assert!(body.contains("state_store_unavailable"), "{body}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "healthz stayed {status}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !host
            .api()
            .messages(ALICE)
            .iter()
            .any(|m| m.text.as_deref().is_some_and(|t| t.contains("Я не понял"))),
        "the number was not served without its dialogue"
    );
    redis.restart();
    alice.expect_text("Прислать отчет №2 «Отчет номер 2»?").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while http_get(&healthz).await.expect("GET /healthz").0 != 200 {
        assert!(tokio::time::Instant::now() < deadline, "healthz did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_webhook_mode_updates_wait_in_redis_and_a_second_delivery_is_dropped() {
    let Some(redis) = RedisServer::start() else { return };
    let mut host = on_redis(fx::host("v2", fx::reports(ALICE, 3), "").webhook(), &redis).start().await;
    let mut alice = host.user(ALICE, "Алиса").with_wait(Duration::from_secs(20));
    fx::open_list(&mut alice).await;
    alice.press("Удалить");
    alice.expect_text("Какой отчет удалить?").await;
    host.restart().await;
    alice.send_text("1");
    alice.expect_text("Удалить отчет №1 «Отчет номер 1»?").await;

    // Telegram delivers update 1 again (it never saw our answer): dropped by id.
    let url = host.webhook_url().expect("webhook mode");
    let secret = host.api().webhook().and_then(|h| h.secret).expect("a secret");
    let again = serde_json::json!({
        "update_id": 1,
        "message": {
            "message_id": 1, "date": 1_700_000_000, "text": "/reports",
            "chat": {"id": ALICE, "type": "private", "first_name": "Алиса"},
            "from": {"id": ALICE, "is_bot": false, "first_name": "Алиса"}
        }
    });
    let header = [("X-Telegram-Bot-Api-Secret-Token", secret.as_str())];
    let (status, _) = vox_testkit::http_post(&url, &header, &again.to_string()).await.expect("POST");
    assert_eq!(status, 200);
    alice.press("Да, удалить");
    alice.expect_text("Отчет №1 «Отчет номер 1» удален").await;
    let documents = host.api().messages(ALICE).iter().filter(|m| m.document.is_some()).count();
    assert_eq!(documents, 1, "the list was sent once: the second delivery of /reports was dropped");
    let (_, metrics) = http_get(&format!("{}/metrics", host.ops_url())).await.expect("GET /metrics");
    assert!(metrics.contains("vox_webhook_requests_total{outcome=\"duplicate\"} 1"), "{metrics}");
    assert!(metrics.contains("vox_shared_updates_handled_total"), "{metrics}");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_shared_reports_lock_a_delete_writes_with_the_fence_redis_gave() {
    let Some(redis) = RedisServer::start() else { return };
    let host =
        on_redis(fx::host("v2", fx::reports(ALICE, 3), "reports_lock = \"shared\"\n"), &redis).start().await;
    let mut alice = host.user(ALICE, "Алиса").with_wait(Duration::from_secs(20));
    for number in ["3", "2"] {
        fx::open_list(&mut alice).await;
        alice.press("Удалить");
        alice.expect_text("Какой отчет удалить?").await;
        alice.send_text(number);
        alice.expect_text(&format!("Удалить отчет №{number}")).await;
        alice.press("Да, удалить");
        alice.expect_text(&format!("Отчет №{number} «Отчет номер {number}» удален")).await;
    }
    let reports = fx::reports_dir(host.dir());
    assert!(fx::entry(&reports, ALICE, 3).is_none() && fx::entry(&reports, ALICE, 2).is_none());
    let given = redis.get("vox:nfence:my_reports:reports").expect("the shared lock's fence counter");
    let recorded = std::fs::read_to_string(reports.join(".vox-fence")).expect(".vox-fence");
    assert_eq!(recorded.trim(), given, "the store recorded the newest token Redis gave");
    assert_eq!(given, "2", "one taking per delete");
    // Released on drop, by a task of its own: not the moment the reply is out.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while redis.get("vox:nlock:my_reports:reports").is_some() {
        assert!(tokio::time::Instant::now() < deadline, "the shared lock was not released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    host.stop().await.expect("clean stop");
}
