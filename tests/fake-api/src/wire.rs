//! JSON builders for the Bot API objects the fake sends: User, Chat, Message,
//! CallbackQuery and Update, shaped exactly as teloxide 0.17 parses them.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::types::{Button, TgUser};
use crate::world::{BotIdentity, ChatKind, ChatState, Sender, StoredMessage};

/// A JSON object of `fields`, the values moved in. (`json!` serializes an
/// expression it is given, so a `Value` put into `json!({..})` is copied whole
/// and the original dropped: for a 100-update `getUpdates` answer that copy
/// was a third of the fake's instructions.)
pub(crate) fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(fields.into_iter().map(|(key, value)| (key.to_owned(), value)).collect())
}

/// Now in Unix seconds: Telegram dates are seconds, and teloxide reads
/// milliseconds as the year 58867.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A human user, as in `message.from` and `callback_query.from`.
pub(crate) fn user(user: &TgUser) -> Value {
    let mut out = json!({
        "id": user.id,
        "is_bot": false,
        "first_name": user.first_name,
    });
    if let Some(username) = &user.username {
        out["username"] = json!(username);
    }
    if let Some(language) = &user.language_code {
        out["language_code"] = json!(language);
    }
    out
}

/// The bot as the sender of its messages.
pub(crate) fn bot_user(bot: &BotIdentity) -> Value {
    json!({
        "id": bot.id,
        "is_bot": true,
        "first_name": bot.first_name,
        "username": bot.username,
    })
}

/// The bot as `getMe` returns it: teloxide's `Me` needs every capability
/// field, or the Dispatcher panics with "Couldn't prepare dispatching context".
pub(crate) fn get_me(bot: &BotIdentity) -> Value {
    let mut me = bot_user(bot);
    for (key, value) in [
        ("can_join_groups", true),
        ("can_read_all_group_messages", false),
        ("supports_inline_queries", false),
        ("can_connect_to_business", false),
        ("has_main_web_app", false),
    ] {
        me[key] = json!(value);
    }
    me
}

pub(crate) fn chat(chat: &ChatState) -> Value {
    match &chat.kind {
        ChatKind::Private { first_name, username } => {
            let mut out = json!({ "id": chat.id, "type": "private", "first_name": first_name });
            if let Some(username) = username {
                out["username"] = json!(username);
            }
            out
        }
        ChatKind::Group { title } => json!({ "id": chat.id, "type": "group", "title": title }),
        ChatKind::Supergroup { title } => {
            json!({ "id": chat.id, "type": "supergroup", "title": title })
        }
    }
}

pub(crate) fn inline_keyboard(rows: &[Vec<Button>]) -> Value {
    let rows: Vec<Vec<Value>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|b| {
                    let mut button = json!({ "text": b.text });
                    if let Some(data) = &b.callback_data {
                        button["callback_data"] = json!(data);
                    }
                    if let Some(url) = &b.url {
                        button["url"] = json!(url);
                    }
                    button
                })
                .collect()
        })
        .collect();
    json!({ "inline_keyboard": rows })
}

/// A message in its current version.
pub(crate) fn message(bot: &BotIdentity, chat_state: &ChatState, msg: &StoredMessage) -> Value {
    let mut out = Map::new();
    out.insert("message_id".into(), json!(msg.id));
    out.insert(
        "from".into(),
        match &msg.sender {
            Sender::Bot => bot_user(bot),
            Sender::User(u) => user(u),
        },
    );
    out.insert("chat".into(), chat(chat_state));
    out.insert("date".into(), json!(msg.date));
    if let Some(edit_date) = msg.edit_date {
        out.insert("edit_date".into(), json!(edit_date));
    }
    let current = &msg.current;
    if let Some(text) = &current.text {
        out.insert("text".into(), json!(text));
    }
    if let Some(entities) = &msg.entities {
        out.insert("entities".into(), entities.clone());
    }
    if let Some(file) = msg.document.as_ref().filter(|_| msg.photo) {
        // One size only: the fake does not scale. A PNG says its size in its header.
        let (width, height) = png_size(&file.bytes).unwrap_or((0, 0));
        let size = json!({
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "width": width,
            "height": height,
            "file_size": file.bytes.len(),
        });
        out.insert("photo".into(), json!([size]));
        if let Some(caption) = &current.caption {
            out.insert("caption".into(), json!(caption));
        }
    } else if let Some(file) = &msg.document {
        let mut document = json!({
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "file_name": file.file_name,
            "file_size": file.bytes.len(),
        });
        if let Some(mime) = &file.mime_type {
            document["mime_type"] = json!(mime);
        }
        out.insert("document".into(), document);
        if let Some(caption) = &current.caption {
            out.insert("caption".into(), json!(caption));
        }
    }
    if !current.keyboard.is_empty() {
        out.insert("reply_markup".into(), inline_keyboard(&current.keyboard));
    }
    Value::Object(out)
}

/// A `bot_command` entity for text starting with `/cmd`, so the host's
/// command parsing sees what a real client sends.
pub(crate) fn command_entities(text: &str) -> Option<Value> {
    if !text.starts_with('/') {
        return None;
    }
    let command = text.split_whitespace().next().unwrap_or_default();
    let length: usize = command.chars().map(char::len_utf16).sum();
    (length > 1).then(|| json!([{ "type": "bot_command", "offset": 0, "length": length }]))
}

/// Width and height from a PNG's header, if `bytes` is a PNG.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Some((be(16), be(20)))
}
