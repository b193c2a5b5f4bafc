//! The scripted user driving a tiny teloxide Dispatcher end to end — the
//! same path the host's tests take.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use teloxide::dispatching::UpdateFilterExt;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, InputFile};
use tokio::task::JoinHandle;

use super::support::bot;
use crate::FakeBotApi;

/// A two-step bot: /start shows a menu; its button answers the query and
/// sends a report list as a document.
fn start_bot(api: &FakeBotApi) -> JoinHandle<()> {
    let handler = dptree::entry()
        .branch(Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
            if msg.text() == Some("/start") {
                bot.send_message(msg.chat.id, "Привет! Выберите раздел:")
                    .reply_markup(InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(
                        "Мои отчеты",
                        "my_reports",
                    )]]))
                    .await?;
            }
            Ok::<(), teloxide::RequestError>(())
        }))
        .branch(Update::filter_callback_query().endpoint(|bot: Bot, q: CallbackQuery| async move {
            bot.answer_callback_query(q.id.clone()).text("Готово").await?;
            if let Some(message) = q.regular_message() {
                bot.send_document(
                    message.chat.id,
                    InputFile::memory(&b"1. report\n"[..]).file_name("list.txt"),
                )
                .caption("Ваши отчеты")
                .await?;
            }
            Ok::<(), teloxide::RequestError>(())
        }));
    let mut dispatcher = Dispatcher::builder(bot(api), handler).build();
    tokio::spawn(async move { dispatcher.dispatch().await })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_user_walks_a_real_dispatcher_through_a_dialogue() {
    let api = FakeBotApi::start().await.expect("starts");
    let dispatcher = start_bot(&api);
    let mut alice = api.user(42, "Alice");

    alice.send_text("/start");
    let menu = alice.expect_text("Привет").await;
    assert_eq!(menu.button_labels(), ["Мои отчеты"]);

    alice.press("Мои");
    let answer = alice.expect_callback_answered().await;
    assert_eq!(answer.text.as_deref(), Some("Готово"));
    let list = alice.expect_document().await;
    assert_eq!(list.file_name, "list.txt");
    assert_eq!(list.text(), "1. report\n");
    assert_eq!(list.caption.as_deref(), Some("Ваши отчеты"));
    alice.expect_silence(Duration::from_millis(200)).await;

    let transcript = alice.transcript();
    assert!(transcript.contains("#1 Alice: /start"), "{transcript}");
    assert!(transcript.contains("[Мои отчеты → my_reports]"), "{transcript}");
    assert!(transcript.contains("Alice pressed \"my_reports\""), "{transcript}");
    assert!(transcript.contains("📎 list.txt (10 bytes) Ваши отчеты"), "{transcript}");

    let methods: Vec<String> = api.calls().into_iter().map(|c| c.method).collect();
    assert!(methods.iter().any(|m| m == "getMe"), "{methods:?}");
    assert!(methods.iter().any(|m| m == "getWebhookInfo"), "{methods:?}");
    dispatcher.abort();
}

#[tokio::test]
async fn a_failed_expectation_panics_with_the_callers_line_and_the_transcript() {
    let api = FakeBotApi::start().await.expect("starts");
    let mut alice = api.user(42, "Alice").with_wait(Duration::from_millis(100));
    alice.send_text("hello?");
    let waited = tokio::spawn(async move {
        alice.expect_message().await;
    });
    let panic = waited.await.expect_err("panicked").into_panic();
    let message = panic.downcast::<String>().expect("a formatted message");
    assert!(message.contains(file!()), "{message}");
    assert!(message.contains("expected a message from the bot"), "{message}");
    assert!(message.contains("#1 Alice: hello?"), "{message}");
}

#[tokio::test]
async fn press_fails_listing_the_visible_buttons() {
    let api = FakeBotApi::start().await.expect("starts");
    bot(&api)
        .send_message(ChatId(42), "Меню")
        .reply_markup(InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Назад", "back")]]))
        .await
        .expect("sent");
    let mut alice = api.user(42, "Alice");
    let pressed = std::panic::catch_unwind(AssertUnwindSafe(|| alice.press("Удалить")));
    let panic = pressed.expect_err("no such button");
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(message.contains("#1 [Назад]"), "{message}");

    let query = alice.press("Назад");
    assert_eq!(api.calls().len(), 1, "pressing is not a bot call");
    assert_eq!(alice.last_query(), Some(query.as_str()));
}

#[tokio::test]
async fn reply_keyboards_and_edits_are_visible_to_the_scripted_user() {
    use teloxide::types::{KeyboardButton, KeyboardMarkup};

    let api = FakeBotApi::start().await.expect("starts");
    let bot = bot(&api);
    let mut alice = api.user(42, "Alice");
    bot.send_message(ChatId(42), "Главное меню")
        .reply_markup(KeyboardMarkup::new([[KeyboardButton::new("Мои отчеты")]]))
        .await
        .expect("sent");
    let menu = alice.expect_message().await;
    assert_eq!(menu.reply_keyboard, [["Мои отчеты"]]);
    let id = alice.press_reply_button("отчеты");
    assert_eq!(api.user_messages(42)[0].text, "Мои отчеты");
    assert_eq!(id, 2);

    bot.edit_message_text(ChatId(42), menu_id(&menu), "Меню обновлено").await.expect("edited");
    let edited = alice.expect_edit().await;
    assert_eq!(edited.text.as_deref(), Some("Меню обновлено"));
    assert!(alice.transcript().contains("✎ #1 edited to: Меню обновлено"));
}

fn menu_id(message: &crate::BotMessage) -> teloxide::types::MessageId {
    teloxide::types::MessageId(message.id)
}

#[tokio::test]
async fn shutdown_releases_held_long_polls_and_stops_the_server() {
    let api = FakeBotApi::start().await.expect("starts");
    let bot = bot(&api);
    let poll = tokio::spawn(bot.get_updates().timeout(30).into_future());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    api.clone().shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let released = tokio::time::timeout(Duration::from_secs(2), poll).await;
    assert!(released.is_ok(), "the held poll was released");
    assert!(bot.get_me().await.is_err(), "the server is gone");
    assert!(!api.calls().is_empty(), "the record stays readable");
}
