//! Webhook mode: the fake Bot API delivers every update to the host's own
//! listener (`setWebhook` with a secret), the way Telegram does behind a
//! reverse proxy. A dialogue runs end to end without a single `getUpdates`; a
//! request without the secret is refused before any handler; a delivery of an
//! update already taken is dropped; switching back to polling deletes the
//! webhook and the user's dialogue goes on.

use std::time::Duration;

use vox_testkit::{TestHost, http_get, http_post, metric as value};

use crate::reports_fixture as fx;

const ALICE: i64 = 9101;

async fn scrape(host: &TestHost) -> String {
    host.scrape().await
}

/// A text message from Alice, as Telegram would POST it.
fn text_update(update_id: u32, text: &str) -> String {
    serde_json::json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": 1_700_000_000, "text": text,
            "chat": {"id": ALICE, "type": "private", "first_name": "Алиса"},
            "from": {"id": ALICE, "is_bot": false, "first_name": "Алиса"}
        }
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialogue_runs_over_the_webhook_without_polling() {
    let host = fx::host("v2", fx::reports(ALICE, 3), "").webhook().start().await;
    let hook = host.api().webhook().expect("the host set a webhook");
    assert_eq!(Some(hook.url.clone()), host.webhook_url());
    let secret = hook.secret.expect("with a secret token");
    assert!(secret.len() >= 32 && secret.bytes().all(|b| b.is_ascii_alphanumeric()), "{secret}");

    let mut alice = host.user(ALICE, "Алиса");
    fx::open_list(&mut alice).await;
    alice.press("Посмотреть");
    alice.expect_text("Какой отчет прислать?").await;
    alice.send_text("2");
    alice.expect_text("Прислать отчет №2 «Отчет номер 2»?").await;
    alice.press("Да, прислать");
    let doc = alice.expect_document().await;
    assert_eq!(doc.caption.as_deref(), Some("№2: Отчет номер 2"));
    alice.expect_text("Отчет №2 отправлен").await;

    let calls = host.api().calls();
    assert!(calls.iter().all(|c| c.method != "getUpdates"), "webhook mode never polls");
    let deliveries = host.api().webhook_deliveries();
    assert_eq!(deliveries.len(), 4, "four updates, each delivered once: {deliveries:?}");
    assert!(deliveries.iter().all(|d| d.status == Some(200)), "{deliveries:?}");
    // The last reply may leave before its update is counted as handled.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let metrics = loop {
        let metrics = scrape(&host).await;
        if value(&metrics, "vox_updates_queued") == Some(0.0) || tokio::time::Instant::now() > deadline {
            break metrics;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(value(&metrics, "vox_updates_queued"), Some(0.0), "{metrics}");
    assert_eq!(value(&metrics, "vox_webhook_requests_total{outcome=\"accepted\"}"), Some(4.0), "{metrics}");
    let (status, body) = http_get(&format!("{}/healthz", host.ops_url())).await.expect("GET /healthz");
    assert_eq!(status, 200, "{body}");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_the_secret_never_reaches_a_handler_and_a_second_delivery_is_dropped() {
    let host = fx::host("v2", fx::reports(ALICE, 1), "").webhook().start().await;
    let url = host.webhook_url().expect("webhook mode");
    let secret = host.api().webhook().and_then(|h| h.secret).expect("a secret");

    let body = text_update(900_001, "/start");
    let (status, _) = http_post(&url, &[], &body).await.expect("POST");
    assert_eq!(status, 401, "no secret header");
    let (status, _) =
        http_post(&url, &[("X-Telegram-Bot-Api-Secret-Token", "guess")], &body).await.expect("POST");
    assert_eq!(status, 401, "a wrong secret");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(host.api().messages(ALICE).is_empty(), "a refused request reached a handler");

    let header = [("X-Telegram-Bot-Api-Secret-Token", secret.as_str())];
    let (status, _) = http_post(&url, &header, &body).await.expect("POST");
    assert_eq!(status, 200);
    // Telegram did not see that answer and delivers the update again.
    let (status, _) = http_post(&url, &header, &body).await.expect("POST");
    assert_eq!(status, 200, "a duplicate is acknowledged, so Telegram stops delivering it");
    host.wait_until("the menu is sent", |h| !h.api().messages(ALICE).is_empty()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        host.api().messages(ALICE).len(),
        1,
        "the update was handled once: {:?}",
        host.api().messages(ALICE)
    );

    let (status, _) = http_post(&url, &header, "{not json").await.expect("POST");
    assert_eq!(status, 200, "an unreadable delivery is acknowledged (delivering it again cannot help)");
    let metrics = scrape(&host).await;
    for (outcome, n) in [("unauthorized", 2.0), ("accepted", 1.0), ("duplicate", 1.0), ("unreadable", 1.0)] {
        let series = format!("vox_webhook_requests_total{{outcome=\"{outcome}\"}}");
        assert_eq!(value(&metrics, &series), Some(n), "{series}\n{metrics}");
    }
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_back_to_polling_deletes_the_webhook_and_the_dialogue_goes_on() {
    let mut host = fx::host("v2", fx::reports(ALICE, 3), "").webhook().start().await;
    let mut alice = host.user(ALICE, "Алиса").with_wait(Duration::from_secs(20));
    fx::open_list(&mut alice).await;
    alice.press("Посмотреть");
    alice.expect_text("Какой отчет прислать?").await;

    host.set_env("VOX__TELEGRAM__MODE", "polling");
    host.restart().await;
    assert_eq!(host.api().webhook(), None, "polling deletes the webhook first");
    assert!(host.api().calls().iter().any(|c| c.method == "deleteWebhook"));

    alice.send_text("3");
    alice.expect_text("Прислать отчет №3 «Отчет номер 3»?").await;
    alice.press("Да, прислать");
    let doc = alice.expect_document().await;
    assert_eq!(doc.caption.as_deref(), Some("№3: Отчет номер 3"));
    host.stop().await.expect("clean stop");
}
