//! Webhook delivery against a real listener: `setWebhook` through teloxide,
//! updates POSTed with the secret header, a non-2xx answer retried, and
//! `getUpdates` refused with 409 while the webhook is set.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use teloxide::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::support::bot;
use crate::{FakeBotApi, TgUser};

/// A webhook receiver answering each request with the next of `statuses`
/// (then 200); records each request's text.
async fn receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}/hook/path", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        let mut statuses = statuses.into_iter();
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = vec![0u8; 64 * 1024];
            let mut read = 0;
            // Headers, then as much body as Content-Length says.
            loop {
                let n = stream.read(&mut buf[read..]).await.unwrap_or(0);
                read += n;
                let text = String::from_utf8_lossy(&buf[..read]).into_owned();
                let done = text.split_once("\r\n\r\n").is_some_and(|(head, body)| {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    body.len() >= len
                });
                if n == 0 || done {
                    break;
                }
            }
            log.lock().expect("log").push(String::from_utf8_lossy(&buf[..read]).into_owned());
            let status = statuses.next().unwrap_or(200);
            let _ = stream
                .write_all(format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n").as_bytes())
                .await;
        }
    });
    (url, seen)
}

#[tokio::test]
async fn updates_go_to_the_webhook_with_the_secret_and_a_failed_delivery_is_retried() {
    let api = FakeBotApi::start().await.expect("starts");
    let (url, seen) = receiver(vec![500]).await;
    let bot = bot(&api);
    bot.set_webhook(url.parse().expect("url")).secret_token("s3cr3t_Token-1".to_owned()).await.expect("set");
    assert_eq!(api.webhook().map(|h| h.url), Some(url.clone()));
    api.push_text(42, &TgUser::new(42, "Alice"), "/start");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while api.pending_updates() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "never delivered: {:?}", api.webhook_deliveries());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deliveries = api.webhook_deliveries();
    assert_eq!(
        deliveries.iter().map(|d| d.status).collect::<Vec<_>>(),
        [Some(500), Some(200)],
        "retried once"
    );
    let requests = seen.lock().expect("log").clone();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].starts_with("POST /hook/path HTTP/1.1"), "{}", requests[1]);
    assert!(requests[1].contains("X-Telegram-Bot-Api-Secret-Token: s3cr3t_Token-1"), "{}", requests[1]);
    assert!(requests[1].contains("\"update_id\":1") && requests[1].contains("/start"), "{}", requests[1]);

    let refused = bot.get_updates().await.expect_err("getUpdates while a webhook is set");
    assert!(refused.to_string().contains("webhook is active"), "{refused}");
    bot.delete_webhook().await.expect("deleted");
    assert!(api.webhook().is_none());
    api.push_text(42, &TgUser::new(42, "Alice"), "again");
    assert_eq!(bot.get_updates().await.expect("polling works again").len(), 1);
}

#[tokio::test]
async fn a_secret_with_other_characters_is_refused() {
    let api = FakeBotApi::start().await.expect("starts");
    let refused = bot(&api)
        .set_webhook("http://127.0.0.1:9/x".parse().expect("url"))
        .secret_token("no spaces allowed".to_owned())
        .await;
    assert!(refused.is_err());
    assert!(api.webhook().is_none());
}
