//! The `/_control/` routes the standalone binary serves, driven as the bench
//! script drives them while a teloxide bot answers.

use teloxide::prelude::*;

use super::support::{bot, raw};
use crate::FakeBotApi;

#[tokio::test]
async fn pushed_messages_are_counted_once_answered() {
    let api = FakeBotApi::start_with_control(0).await.expect("starts");
    let (status, body) =
        raw(&api, "POST", "/_control/push_text?users=2&count=3&text=/echo", "text/plain", "").await;
    assert_eq!((status, body["queued"].as_u64()), (200, Some(3)), "{body}");

    let bot = bot(&api);
    let updates = bot.get_updates().await.expect("polled");
    let chats: Vec<i64> = updates.iter().filter_map(|u| u.chat()).map(|c| c.id.0).collect();
    assert_eq!(chats, [1001, 1002, 1001], "round-robin over the users");
    for chat in chats {
        bot.send_message(ChatId(chat), "echo").await.expect("sent");
    }

    let (status, body) =
        raw(&api, "GET", "/_control/wait?method=sendMessage&ok=3&timeout_secs=5", "text/plain", "").await;
    assert_eq!(status, 200, "{body}");
    let (_, count) = raw(&api, "GET", "/_control/count?method=sendMessage", "text/plain", "").await;
    assert_eq!((count["calls"].as_u64(), count["ok"].as_u64()), (Some(3), Some(3)));
    let (_, counts) = raw(&api, "GET", "/_control/counts", "text/plain", "").await;
    assert_eq!(counts["getUpdates"]["calls"].as_u64(), Some(1), "{counts}");
}

#[tokio::test]
async fn a_push_with_callback_data_makes_every_second_update_a_press() {
    let api = FakeBotApi::start_with_control(0).await.expect("starts");
    let (status, body) = raw(
        &api,
        "POST",
        "/_control/push_text?users=2&count=4&text=/echo&callback_data=echo:1",
        "text/plain",
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let bot = bot(&api);
    let updates = bot.get_updates().await.expect("polled");
    let shapes: Vec<(i64, Option<&str>)> = updates
        .iter()
        .map(|u| match &u.kind {
            teloxide::types::UpdateKind::Message(m) => (m.chat.id.0, m.text()),
            teloxide::types::UpdateKind::CallbackQuery(q) => (q.from.id.0 as i64, q.data.as_deref()),
            other => panic!("unexpected update {other:?}"),
        })
        .collect();
    assert_eq!(
        shapes,
        [(1001, Some("/echo")), (1002, Some("echo:1")), (1001, Some("/echo")), (1002, Some("echo:1"))]
    );
    for update in &updates {
        if let teloxide::types::UpdateKind::CallbackQuery(q) = &update.kind {
            bot.answer_callback_query(q.id.clone()).await.expect("a pushed press can be answered");
        }
    }
    let (_, count) = raw(&api, "GET", "/_control/count?method=answerCallbackQuery", "text/plain", "").await;
    assert_eq!(count["ok"].as_u64(), Some(2), "{count}");
}

#[tokio::test]
async fn a_push_can_start_from_another_user() {
    let api = FakeBotApi::start_with_control(0).await.expect("starts");
    let (status, body) =
        raw(&api, "POST", "/_control/push_text?users=2&count=2&text=hi&first_user=50000", "text/plain", "")
            .await;
    assert_eq!(status, 200, "{body}");
    let updates = bot(&api).get_updates().await.expect("polled");
    let chats: Vec<i64> = updates.iter().filter_map(|u| u.chat()).map(|c| c.id.0).collect();
    assert_eq!(chats, [50000, 50001]);
    let (status, body) =
        raw(&api, "POST", "/_control/push_text?users=1&count=1&text=hi&first_user=0", "text/plain", "").await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().is_some_and(|e| e.contains("first_user")), "{body}");
}

#[tokio::test]
async fn a_wait_that_is_not_met_times_out() {
    let api = FakeBotApi::start_with_control(0).await.expect("starts");
    let (status, body) =
        raw(&api, "GET", "/_control/wait?method=sendMessage&ok=1&timeout_secs=0", "text/plain", "").await;
    assert_eq!((status, body["ok"].as_u64()), (504, Some(0)));
}

#[tokio::test]
async fn a_fake_started_for_tests_has_no_control_routes() {
    let api = FakeBotApi::start().await.expect("starts");
    let (status, _) = raw(&api, "GET", "/_control/counts", "text/plain", "").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn without_the_call_log_the_counts_still_advance() {
    let api = FakeBotApi::start_with_control(0).await.expect("starts");
    api.keep_call_log(false);
    let bot = bot(&api);
    bot.send_message(ChatId(7), "one").await.expect("sent");
    bot.send_message(ChatId(7), "two").await.expect("sent");
    let (_, count) = raw(&api, "GET", "/_control/count?method=sendMessage", "text/plain", "").await;
    assert_eq!(count["ok"].as_u64(), Some(2), "{count}");
    assert!(api.calls().iter().all(|c| c.method != "sendMessage"), "no log kept");
    api.keep_call_log(true);
    bot.send_message(ChatId(7), "three").await.expect("sent");
    assert_eq!(api.calls().iter().filter(|c| c.method == "sendMessage").count(), 1);
}
