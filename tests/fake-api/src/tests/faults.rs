//! Injected faults as teloxide experiences them.

use std::time::{Duration, Instant};

use teloxide::prelude::*;
use teloxide::{ApiError, RequestError};

use super::support::{bot, raw};
use crate::{FakeBotApi, Fault};

#[tokio::test]
async fn a_429_fault_surfaces_as_retry_after_and_has_no_effect() {
    let api = FakeBotApi::start().await.expect("starts");
    api.fault(Some("SendMessage"), Fault::RetryAfter(3), 1);
    match bot(&api).send_message(ChatId(1), "hi").await {
        Err(RequestError::RetryAfter(seconds)) => assert_eq!(seconds.seconds(), 3),
        other => panic!("expected RetryAfter, got {other:?}"),
    }
    assert!(api.messages(1).is_empty());
    assert_eq!(api.calls()[0].status, 429);
    // The fault was used up: the retry goes through.
    bot(&api).send_message(ChatId(1), "hi").await.expect("sent");
    assert_eq!(api.messages(1).len(), 1);
}

#[tokio::test]
async fn a_delay_fault_delays_the_answer() {
    let api = FakeBotApi::start().await.expect("starts");
    api.fault(Some("getMe"), Fault::Delay(Duration::from_millis(300)), 1);
    let started = Instant::now();
    bot(&api).get_me().await.expect("answered in the end");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_drop_fault_is_a_network_error_and_the_next_call_works() {
    let api = FakeBotApi::start().await.expect("starts");
    let bot = bot(&api);
    bot.get_me().await.expect("warms up a pooled connection");
    api.fault(None, Fault::Drop, 1);
    match bot.send_message(ChatId(1), "hi").await {
        Err(RequestError::Network(_)) => {}
        other => panic!("expected a network error, got {other:?}"),
    }
    assert!(api.messages(1).is_empty(), "a dropped request has no effect");
    let dropped = api.calls().pop().expect("recorded");
    assert_eq!((dropped.method.as_str(), dropped.status), ("sendMessage", 0));
    bot.send_message(ChatId(1), "hi").await.expect("a new connection works");
}

#[tokio::test]
async fn a_lost_response_takes_effect_but_the_client_sees_a_network_error() {
    let api = FakeBotApi::start().await.expect("starts");
    api.fault(Some("sendMessage"), Fault::LoseResponse, 1);
    let sent = bot(&api).send_message(ChatId(1), "hi").await;
    assert!(matches!(sent, Err(RequestError::Network(_))), "{sent:?}");
    assert_eq!(api.messages(1).len(), 1, "the message was sent anyway");
}

#[tokio::test]
async fn status_and_api_faults_answer_with_that_error() {
    let api = FakeBotApi::start().await.expect("starts");
    // A raw client: teloxide sleeps 10 s after any 5xx.
    api.fault(Some("getMe"), Fault::Status(502), 1);
    let path = format!("/bot{}/getMe", api.token());
    let (status, body) = raw(&api, "POST", &path, "application/json", "").await;
    assert_eq!(status, 502);
    assert_eq!(body["description"], "Bad Gateway");

    api.fault(
        Some("sendMessage"),
        Fault::Api { status: 403, description: "Forbidden: bot was blocked by the user".to_owned() },
        1,
    );
    match bot(&api).send_message(ChatId(1), "hi").await {
        Err(RequestError::Api(ApiError::BotBlocked)) => {}
        other => panic!("expected BotBlocked, got {other:?}"),
    }
    assert_eq!(api.pending_faults(), 0);
}

#[tokio::test]
async fn an_unreachable_telegram_drops_every_request_until_it_is_back() {
    let api = FakeBotApi::start().await.expect("starts");
    api.set_unreachable(true);
    assert!(matches!(bot(&api).get_me().await, Err(RequestError::Network(_))));
    api.set_unreachable(false);
    bot(&api).get_me().await.expect("reachable again");
}
