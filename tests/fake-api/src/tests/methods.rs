//! The methods the host uses, called through teloxide: shapes, limits and
//! what the fake records.

use serde_json::json;
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageId, ParseMode,
};
use teloxide::{ApiError, RequestError};

use super::support::{bot, raw, unix_now};
use crate::{FakeBotApi, TgUser, descriptions};

fn keyboard() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([
        vec![
            InlineKeyboardButton::callback("Мои отчеты", "my_reports"),
            InlineKeyboardButton::callback("Помощь", "help"),
        ],
        vec![InlineKeyboardButton::url("Сайт", "https://example.com".parse().expect("a URL"))],
    ])
}

/// Descriptions teloxide-core 0.13 has no variant for.
fn unknown(description: &str) -> ApiError {
    ApiError::Unknown(description.to_owned())
}

fn api_error(result: Result<impl std::fmt::Debug, RequestError>) -> ApiError {
    match result {
        Err(RequestError::Api(err)) => err,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn get_me_parses_as_a_full_teloxide_me() {
    let api = FakeBotApi::start().await.expect("starts");
    let me = bot(&api).get_me().await.expect("getMe works");
    assert!(me.is_bot);
    assert_eq!(me.id.0, u64::try_from(api.bot_user_id()).expect("positive"));
    assert_eq!(me.username(), api.bot_username());
    let call = &api.calls()[0];
    assert_eq!(call.method, "getMe");
    assert_eq!(call.token, api.token());
    assert_eq!(call.status, 200);
}

#[tokio::test]
async fn send_message_with_a_keyboard_round_trips_and_is_recorded() {
    let api = FakeBotApi::start().await.expect("starts");
    let sent =
        bot(&api).send_message(ChatId(42), "Выберите раздел").reply_markup(keyboard()).await.expect("sent");
    assert_eq!(sent.id, MessageId(1));
    assert_eq!(sent.text(), Some("Выберите раздел"));
    assert_eq!(sent.reply_markup(), Some(&keyboard()));
    assert!(sent.from.as_ref().is_some_and(|u| u.is_bot));
    assert!((sent.date.timestamp() - unix_now()).abs() < 60, "date is in seconds");

    let [message] = api.messages(42).try_into().expect("one message");
    assert_eq!(message.text.as_deref(), Some("Выберите раздел"));
    assert_eq!(message.button_labels(), ["Мои отчеты", "Помощь", "Сайт"]);
    assert_eq!(message.keyboard[0][0].callback_data.as_deref(), Some("my_reports"));
    assert_eq!(message.keyboard[1][0].url.as_deref(), Some("https://example.com/"));

    let call = api.calls().pop().expect("recorded");
    assert_eq!(call.method, "sendMessage");
    assert_eq!(call.chat_id(), Some(42));
    assert_eq!(call.params["text"], "Выберите раздел");
    assert_eq!(call.result_message_id(), Some(1));
}

#[tokio::test]
async fn user_and_bot_messages_share_one_id_sequence_per_chat() {
    let api = FakeBotApi::start().await.expect("starts");
    let alice = TgUser::new(7, "Alice");
    assert_eq!(api.push_text(7, &alice, "/start"), 1);
    let sent = bot(&api).send_message(ChatId(7), "hi").await.expect("sent");
    assert_eq!(sent.id, MessageId(2));
    assert_eq!(api.push_text(7, &alice, "again"), 3);
    assert_eq!(api.push_text(-100, &alice, "in a group"), 1);
    assert_eq!(api.user_messages(7).len(), 2);
}

#[tokio::test]
async fn send_document_keeps_the_file_name_bytes_and_caption() {
    let api = FakeBotApi::start().await.expect("starts");
    let bytes = "1. Отчёт за март\n2. Отчёт за апрель\n".as_bytes().to_vec();
    let sent = bot(&api)
        .send_document(ChatId(42), InputFile::memory(bytes.clone()).file_name("list.txt"))
        .caption("Ваши отчеты")
        .await
        .expect("sent");
    let document = sent.document().expect("a document");
    assert_eq!(document.file_name.as_deref(), Some("list.txt"));
    assert_eq!(document.file.size, u32::try_from(bytes.len()).expect("small"));
    assert_eq!(sent.caption(), Some("Ваши отчеты"));

    let message = api.messages(42).pop().expect("stored");
    let stored = message.document.expect("a document");
    assert_eq!(stored.file_name, "list.txt");
    assert_eq!(stored.bytes, bytes);
    assert_eq!(message.caption.as_deref(), Some("Ваши отчеты"));

    let call = api.calls().pop().expect("recorded");
    assert_eq!(call.method, "sendDocument");
    assert_eq!(call.chat_id(), Some(42));
    assert_eq!(call.params["document"], json!({ "file_name": "list.txt", "size": bytes.len() }));
    assert_eq!(call.params["caption"], "Ваши отчеты");

    // The issued file_id can be sent again without uploading.
    let again = bot(&api)
        .send_document(ChatId(43), InputFile::file_id(document.file.id.clone()))
        .await
        .expect("re-sent by file_id");
    assert_eq!(again.document().and_then(|d| d.file_name.as_deref()), Some("list.txt"));
}

#[tokio::test]
async fn delete_messages_skips_missing_ids_and_delete_message_refuses_them() {
    let api = FakeBotApi::start().await.expect("starts");
    let bot = bot(&api);
    for text in ["one", "two", "three"] {
        bot.send_message(ChatId(5), text).await.expect("sent");
    }
    bot.delete_messages(ChatId(5), [MessageId(1), MessageId(99), MessageId(3)])
        .await
        .expect("missing ids are skipped");
    let visible: Vec<_> = api.messages(5).into_iter().map(|m| m.id).collect();
    assert_eq!(visible, [2]);
    assert_eq!(api.all_messages(5).iter().filter(|m| m.deleted).count(), 2);

    let err = api_error(bot.delete_message(ChatId(5), MessageId(1)).await);
    assert_eq!(err, ApiError::MessageToDeleteNotFound);
    bot.delete_message(ChatId(5), MessageId(2)).await.expect("deleted");

    let too_many = (1..=101).map(MessageId);
    let err = api_error(bot.delete_messages(ChatId(5), too_many).await);
    assert_eq!(err, unknown(descriptions::TOO_MANY_MESSAGE_IDS));
}

#[tokio::test]
async fn edits_keep_history_and_identical_edits_are_not_modified() {
    let api = FakeBotApi::start().await.expect("starts");
    let bot = bot(&api);
    let sent = bot.send_message(ChatId(9), "Меню").reply_markup(keyboard()).await.expect("sent");
    let edited = bot.edit_message_text(ChatId(9), sent.id, "Меню").reply_markup(keyboard()).await;
    assert_eq!(api_error(edited), ApiError::MessageNotModified);

    // Like Telegram, editing the text without reply_markup drops the keyboard.
    let edited = bot.edit_message_text(ChatId(9), sent.id, "Новое меню").await.expect("edited");
    assert_eq!(edited.text(), Some("Новое меню"));
    assert!(edited.reply_markup().is_none());
    let message = api.message(9, sent.id.0).expect("stored");
    assert_eq!(message.edits.len(), 1);
    assert_eq!(message.edits[0].text.as_deref(), Some("Меню"));
    assert!(message.keyboard.is_empty());

    let with_keyboard = bot
        .edit_message_reply_markup(ChatId(9), sent.id)
        .reply_markup(keyboard())
        .await
        .expect("keyboard back");
    assert_eq!(with_keyboard.reply_markup(), Some(&keyboard()));

    let missing = bot.edit_message_text(ChatId(9), MessageId(77), "x").await;
    assert_eq!(api_error(missing), ApiError::MessageToEditNotFound);
}

#[tokio::test]
async fn a_callback_query_can_be_answered_once() {
    let api = FakeBotApi::start().await.expect("starts");
    let bot = bot(&api);
    let alice = TgUser::new(42, "Alice");
    let query = api.push_callback(42, &alice, 1, "my_reports");
    assert_eq!(api.callback_answer(&query), None);
    bot.answer_callback_query(query.clone().into()).text("Загружаю…").await.expect("first answer");
    let answer = api.callback_answer(&query).expect("answered");
    assert_eq!(answer.text.as_deref(), Some("Загружаю…"));
    assert!(!answer.show_alert);

    let second = api_error(bot.answer_callback_query(query.into()).await);
    assert_eq!(second, unknown(descriptions::QUERY_IS_TOO_OLD));
    let invalid = api_error(bot.answer_callback_query("nope".into()).await);
    assert_eq!(invalid, unknown(descriptions::QUERY_IS_TOO_OLD));
    let refused = api.calls().pop().expect("recorded");
    assert_eq!(refused.status, 400);
}

#[tokio::test]
async fn telegram_limits_on_text_captions_and_buttons_are_enforced() {
    let api = FakeBotApi::start().await.expect("starts");
    let bot = bot(&api);
    let chat = ChatId(3);
    assert!(bot.send_message(chat, "я".repeat(4096)).await.is_ok());
    // Telegram counts UTF-16 code units: 2,048 emoji fill the limit, one more is over.
    assert!(bot.send_message(chat, "😀".repeat(2048)).await.is_ok());
    assert!(bot.send_message(chat, "😀".repeat(2049)).await.is_err());
    let long = bot.send_message(chat, "я".repeat(4097)).await;
    assert_eq!(api_error(long), ApiError::MessageIsTooLong);
    let empty = bot.send_message(chat, " ").await;
    assert_eq!(api_error(empty), ApiError::MessageTextIsEmpty);

    let data = "d".repeat(65);
    let bad_button = bot
        .send_message(chat, "x")
        .reply_markup(InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("A", data)]]))
        .await;
    assert_eq!(api_error(bad_button), ApiError::ButtonDataInvalid);

    let caption = bot
        .send_document(chat, InputFile::memory(&b"x"[..]).file_name("a.txt"))
        .caption("c".repeat(1025))
        .await;
    assert_eq!(api_error(caption), unknown(descriptions::MESSAGE_CAPTION_IS_TOO_LONG));

    let html = bot.send_message(chat, "<b>жирный").parse_mode(ParseMode::Html).await;
    assert!(matches!(api_error(html), ApiError::CantParseEntities(_)));
    let html = bot
        .send_message(chat, "<b>Отчёт</b> &lt;1&gt;")
        .parse_mode(ParseMode::Html)
        .await
        .expect("valid HTML");
    assert_eq!(html.text(), Some("Отчёт <1>"));
}

#[tokio::test]
async fn an_upload_over_50_mb_is_request_entity_too_large() {
    let api = FakeBotApi::start().await.expect("starts");
    let bytes = vec![b'x'; 50 * 1024 * 1024 + 1];
    let sent = bot(&api).send_document(ChatId(1), InputFile::memory(bytes).file_name("big.bin")).await;
    assert_eq!(api_error(sent), ApiError::RequestEntityTooLarge);
    assert_eq!(api.calls().pop().map(|c| c.status), Some(413));
}

#[tokio::test]
async fn commands_are_kept_per_scope_and_language() {
    let api = FakeBotApi::start().await.expect("starts");
    let bot = bot(&api);
    bot.set_my_commands([BotCommand::new("start", "Главное меню")]).await.expect("set");
    let commands = bot.get_my_commands().await.expect("get");
    assert_eq!(commands, [BotCommand::new("start", "Главное меню")]);
    assert_eq!(api.my_commands(None, None)[0].command, "start");
    assert!(api.my_commands(None, Some("en")).is_empty());
    let bad = bot.set_my_commands([BotCommand::new("Start!", "x")]).await;
    assert_eq!(api_error(bad), unknown(descriptions::BOT_COMMAND_INVALID));
    bot.delete_my_commands().await.expect("deleted");
    assert!(api.my_commands(None, None).is_empty());
}

#[tokio::test]
async fn unknown_methods_and_broken_bodies_get_telegram_style_errors() {
    let api = FakeBotApi::start().await.expect("starts");
    let path = format!("/bot{}/sendSticker", api.token());
    let (status, body) = raw(&api, "POST", &path, "application/json", "{}").await;
    assert_eq!(status, 404);
    assert_eq!(body, json!({ "ok": false, "error_code": 404, "description": "Not Found: method not found" }));

    let path = format!("/bot{}/sendMessage", api.token());
    let (status, body) = raw(&api, "POST", &path, "application/json", "{oops").await;
    assert_eq!(status, 400);
    assert_eq!(body["ok"], false);
    let (status, _) = raw(&api, "POST", &path, "application/json", r#"{"chat_id":true,"text":"x"}"#).await;
    assert_eq!(status, 400);

    // Query strings and GET work too, as they do with Telegram.
    let path = format!("/bot{}/SENDMESSAGE?chat_id=5&text=hello", api.token());
    let (status, body) = raw(&api, "GET", &path, "text/plain", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["text"], "hello");
    assert_eq!(api.calls().pop().map(|c| c.method), Some("sendMessage".to_owned()));
}

#[tokio::test]
async fn a_blocked_user_makes_sends_fail_with_403() {
    let api = FakeBotApi::start().await.expect("starts");
    api.set_blocked(11, true);
    let sent = bot(&api).send_message(ChatId(11), "hi").await;
    assert_eq!(api_error(sent), ApiError::BotBlocked);
    api.set_blocked(11, false);
    assert!(bot(&api).send_message(ChatId(11), "hi").await.is_ok());
}
