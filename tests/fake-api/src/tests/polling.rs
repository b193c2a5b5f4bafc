//! `getUpdates` long polling and the update shapes teloxide parses.

use std::time::{Duration, Instant};

use teloxide::prelude::*;
use teloxide::types::{MaybeInaccessibleMessage, UpdateKind};

use super::support::bot;
use crate::{FakeBotApi, TgUser};

#[tokio::test]
async fn an_empty_long_poll_is_held_until_its_timeout() {
    let api = FakeBotApi::start().await.expect("starts");
    let started = Instant::now();
    let updates = bot(&api).get_updates().timeout(1).await.expect("polled");
    assert!(updates.is_empty());
    let held = started.elapsed();
    assert!(held >= Duration::from_millis(950), "answered after {held:?}");
    assert!(held < Duration::from_secs(3), "answered after {held:?}");
}

#[tokio::test]
async fn a_held_long_poll_answers_as_soon_as_an_update_is_pushed() {
    let api = FakeBotApi::start().await.expect("starts");
    let poll = tokio::spawn(bot(&api).get_updates().timeout(10).into_future());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let pushed = Instant::now();
    api.push_text(42, &TgUser::new(42, "Alice"), "/start report");
    let updates = poll.await.expect("joined").expect("polled");
    assert!(pushed.elapsed() < Duration::from_secs(2));
    let [update] = updates.try_into().expect("one update");
    let UpdateKind::Message(message) = update.kind else { panic!("expected a message update") };
    assert_eq!(message.text(), Some("/start report"));
    assert_eq!(message.chat.id, ChatId(42));
    assert!(message.chat.is_private());
    let entity = &message.entities().expect("entities")[0];
    assert_eq!((entity.offset, entity.length), (0, 6));
}

#[tokio::test]
async fn offsets_confirm_updates_and_limit_caps_the_batch() {
    let api = FakeBotApi::start().await.expect("starts");
    let bot = bot(&api);
    let alice = TgUser::new(1, "Alice");
    for text in ["a", "b", "c"] {
        api.push_text(1, &alice, text);
    }
    let first = bot.get_updates().limit(2).await.expect("polled");
    assert_eq!(first.len(), 2);
    assert_eq!(api.pending_updates(), 3, "nothing confirmed yet");
    let next = i32::try_from(first[1].id.0).expect("small") + 1;
    let rest = bot.get_updates().offset(next).await.expect("polled");
    assert_eq!(rest.len(), 1);
    assert_eq!(api.pending_updates(), 1);
    let after = i32::try_from(rest[0].id.0).expect("small") + 1;
    let none = bot.get_updates().offset(after).await.expect("polled");
    assert!(none.is_empty());
    assert_eq!(api.pending_updates(), 0);
}

#[tokio::test]
async fn a_callback_query_update_parses_with_its_message() {
    let api = FakeBotApi::start().await.expect("starts");
    let bot = bot(&api);
    let menu = bot.send_message(ChatId(-100), "Меню").await.expect("sent");
    let alice = TgUser::new(5, "Alice").with_username("alice");
    let query = api.push_callback(-100, &alice, menu.id.0, "my_reports");
    // A forged press on a message the bot never sent must parse too.
    api.push_callback(-100, &alice, 999, "send_report||../../etc/passwd");
    let updates = bot.get_updates().await.expect("polled");
    let kinds: Vec<_> = updates.into_iter().map(|u| u.kind).collect();
    let [UpdateKind::CallbackQuery(first), UpdateKind::CallbackQuery(forged)] = &kinds[..] else {
        panic!("expected two callback queries, got {kinds:?}")
    };
    assert_eq!(first.id.0, query);
    assert_eq!(first.data.as_deref(), Some("my_reports"));
    assert_eq!(first.from.username.as_deref(), Some("alice"));
    let message = first.regular_message().expect("the menu message");
    assert_eq!(message.text(), Some("Меню"));
    assert_eq!(message.chat.id, ChatId(-100));
    assert!(matches!(forged.message, Some(MaybeInaccessibleMessage::Regular(_))));
    assert_eq!(forged.message.as_ref().map(|m| m.id().0), Some(999));
}

#[tokio::test]
async fn updates_outside_allowed_updates_are_not_queued() {
    let api = FakeBotApi::start().await.expect("starts");
    let bot = bot(&api);
    bot.get_updates().allowed_updates([teloxide::types::AllowedUpdate::Message]).await.expect("polled");
    let alice = TgUser::new(1, "Alice");
    api.push_callback(1, &alice, 1, "x");
    api.push_text(1, &alice, "hi");
    assert_eq!(api.pending_updates(), 1);
    assert!(api.transcript(1).contains("allowed_updates excludes it"));
}
