//! The public value types a test reads back from the fake: users, messages,
//! buttons, documents, callback answers and recorded calls.

use std::time::Instant;

use serde_json::Value;

/// A Telegram user the test plays (never the bot itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TgUser {
    /// The user id; in a private chat it is also the chat id.
    pub id: i64,
    /// The first name, as Telegram always has one.
    pub first_name: String,
    /// The `@username` without the `@`, if the user has one.
    pub username: Option<String>,
    /// The IETF language tag of the user's client, such as `"ru"`.
    pub language_code: Option<String>,
}

impl TgUser {
    /// A user with only an id and a first name; the language is `"ru"` because
    /// the host's audience is Russian-speaking by default.
    pub fn new(id: i64, first_name: &str) -> Self {
        Self { id, first_name: first_name.to_owned(), username: None, language_code: Some("ru".to_owned()) }
    }

    /// The same user with a `@username`.
    pub fn with_username(mut self, username: &str) -> Self {
        self.username = Some(username.to_owned());
        self
    }

    /// The same user with another client language (`None` for none).
    pub fn with_language(mut self, language_code: Option<&str>) -> Self {
        self.language_code = language_code.map(str::to_owned);
        self
    }
}

/// One inline keyboard button as the bot sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Button {
    /// The label shown to the user.
    pub text: String,
    /// The data sent back in a callback query, for callback buttons.
    pub callback_data: Option<String>,
    /// The link opened by the button, for URL buttons.
    pub url: Option<String>,
}

/// A file the bot uploaded with `sendDocument`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The file name the bot gave the upload.
    pub file_name: String,
    /// The uploaded bytes, exactly as received.
    pub bytes: Vec<u8>,
}

impl Document {
    /// The content as UTF-8 text, replacing invalid sequences, for assertions
    /// on text files such as a report list.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// One earlier version of a bot message, kept when the bot edits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageVersion {
    /// The text of that version, for text messages.
    pub text: Option<String>,
    /// The caption of that version, for documents.
    pub caption: Option<String>,
    /// The inline keyboard of that version.
    pub keyboard: Vec<Vec<Button>>,
}

/// A message the bot sent, in its current state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BotMessage {
    /// The message id, unique and increasing within its chat.
    pub id: i32,
    /// The chat the message is in.
    pub chat: i64,
    /// The text as the user sees it (HTML tags removed when `parse_mode` is HTML).
    pub text: Option<String>,
    /// The caption of a document, as the user sees it.
    pub caption: Option<String>,
    /// The `parse_mode` the bot sent the current version with.
    pub parse_mode: Option<String>,
    /// The inline keyboard, row by row.
    pub keyboard: Vec<Vec<Button>>,
    /// The labels of a reply keyboard this message set, row by row.
    pub reply_keyboard: Vec<Vec<String>>,
    /// The uploaded file, for documents and photos.
    pub document: Option<Document>,
    /// Whether the file was sent as a photo (`sendPhoto`).
    pub photo: bool,
    /// Whether the bot (or a test) deleted the message.
    pub deleted: bool,
    /// Earlier versions, oldest first; empty if the message was never edited.
    pub edits: Vec<MessageVersion>,
}

impl BotMessage {
    /// Every inline button, row after row.
    pub fn buttons(&self) -> impl Iterator<Item = &Button> {
        self.keyboard.iter().flatten()
    }

    /// The first inline button whose label contains `label`.
    pub fn button(&self, label: &str) -> Option<&Button> {
        self.buttons().find(|b| b.text.contains(label))
    }

    /// The labels of the inline buttons, row after row, for compact assertions.
    pub fn button_labels(&self) -> Vec<String> {
        self.buttons().map(|b| b.text.clone()).collect()
    }

    /// The text or, for a document, the caption; empty when there is neither.
    pub fn body(&self) -> &str {
        self.text.as_deref().or(self.caption.as_deref()).unwrap_or_default()
    }
}

/// A message a (scripted) user sent to the bot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserMessage {
    /// The message id, from the same per-chat sequence as bot messages.
    pub id: i32,
    /// The chat the message is in.
    pub chat: i64,
    /// The sender's user id.
    pub from: i64,
    /// The text the user typed.
    pub text: String,
    /// Whether the bot deleted it.
    pub deleted: bool,
}

/// How the bot answered a callback query.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CallbackAnswer {
    /// The notification text, if any.
    pub text: Option<String>,
    /// Whether it is an alert the user must dismiss instead of a toast.
    pub show_alert: bool,
    /// The URL to open, if any.
    pub url: Option<String>,
}

/// A bot command as set with `setMyCommands`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The command without the slash.
    pub command: String,
    /// The description shown in the menu.
    pub description: String,
}

/// One recorded Bot API request and the fake's answer to it.
#[derive(Clone, Debug)]
pub struct Call {
    /// Position in the log, from 0; the log is in the order calls were answered.
    pub seq: usize,
    /// The canonical method name (`"sendMessage"`), or the name as sent for
    /// methods the fake does not know.
    pub method: String,
    /// The bot token from the URL.
    pub token: String,
    /// The parameters; for multipart uploads the text fields, with each file
    /// replaced by `{"file_name": .., "size": ..}`.
    pub params: Value,
    /// The HTTP status sent back, or 0 when the connection was dropped instead.
    pub status: u16,
    /// The `description` of an error answer.
    pub description: Option<String>,
    /// The whole JSON body sent back, `None` when the connection was dropped
    /// (shared with the answer that was sent, not a copy of it).
    pub response: Option<std::sync::Arc<Value>>,
    /// When the request arrived (the answer may come later, e.g. long polling).
    pub at: Instant,
}

impl Call {
    /// Whether the call was answered with `"ok": true`.
    pub fn is_ok(&self) -> bool {
        self.status == 200
    }

    /// The `chat_id` parameter as a number, accepting numbers sent as strings
    /// (multipart sends every field as text).
    pub fn chat_id(&self) -> Option<i64> {
        crate::request::as_i64(self.params.get("chat_id")?)
    }

    /// The `result` of a successful call.
    pub fn result(&self) -> Option<&Value> {
        self.response.as_ref()?.get("result")
    }

    /// The `message_id` of the message a successful send or edit returned.
    pub fn result_message_id(&self) -> Option<i32> {
        let id = self.result()?.get("message_id")?.as_i64()?;
        i32::try_from(id).ok()
    }
}
