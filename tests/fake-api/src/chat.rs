//! The chats the fake keeps: who the bot is, every message in a chat (bot's and
//! user's, with edits and deletions) and what a chat has seen happen.

use axum::body::Bytes;
use serde_json::Value;

use crate::types::{Button, CallbackAnswer, TgUser};

/// Who the bot is, as `getMe` and `message.from` show it.
#[derive(Clone, Debug)]
pub(crate) struct BotIdentity {
    pub(crate) id: i64,
    pub(crate) first_name: String,
    pub(crate) username: String,
}

#[derive(Clone, Debug)]
pub(crate) enum ChatKind {
    Private { first_name: String, username: Option<String> },
    Group { title: String },
    Supergroup { title: String },
}

#[derive(Clone, Debug)]
pub(crate) enum Sender {
    Bot,
    User(TgUser),
}

/// A file the bot uploaded; `Bytes` so the 50 MB worst case is shared, not copied.
#[derive(Clone, Debug)]
pub(crate) struct StoredFile {
    pub(crate) file_id: String,
    pub(crate) file_unique_id: String,
    pub(crate) file_name: String,
    pub(crate) mime_type: Option<String>,
    pub(crate) bytes: Bytes,
}

/// The editable part of a message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Content {
    pub(crate) text: Option<String>,
    pub(crate) caption: Option<String>,
    pub(crate) parse_mode: Option<String>,
    pub(crate) keyboard: Vec<Vec<Button>>,
}

#[derive(Clone, Debug)]
pub(crate) struct StoredMessage {
    pub(crate) id: i32,
    pub(crate) date: i64,
    pub(crate) edit_date: Option<i64>,
    pub(crate) sender: Sender,
    pub(crate) current: Content,
    /// Earlier versions, oldest first.
    pub(crate) history: Vec<Content>,
    pub(crate) document: Option<StoredFile>,
    /// The file is a photo (`sendPhoto`), not a document.
    pub(crate) photo: bool,
    pub(crate) reply_keyboard: Vec<Vec<String>>,
    pub(crate) entities: Option<Value>,
    pub(crate) deleted: bool,
}

impl StoredMessage {
    /// Version `n` counting from the original (0) to the current one.
    pub(crate) fn version(&self, n: usize) -> &Content {
        self.history.get(n).unwrap_or(&self.current)
    }

    pub(crate) fn is_bot(&self) -> bool {
        matches!(self.sender, Sender::Bot)
    }
}

/// Something that happened in a chat, kept in order for the transcript.
#[derive(Clone, Debug)]
pub(crate) enum Event {
    UserSent(i32),
    BotSent(i32),
    Edited { id: i32, version: usize },
    Deleted(i32),
    Pressed { query: String, message_id: i32, data: String, user: String },
    Answered { query: String, answer: CallbackAnswer },
    Refused { method: String, description: String },
    Filtered { kind: &'static str },
}

#[derive(Clone, Debug)]
pub(crate) struct ChatState {
    pub(crate) id: i64,
    pub(crate) kind: ChatKind,
    next_message_id: i32,
    pub(crate) messages: Vec<StoredMessage>,
    pub(crate) events: Vec<Event>,
    /// Labels of the reply keyboard the bot last set, until it removes it.
    pub(crate) reply_keyboard: Vec<Vec<String>>,
}

impl ChatState {
    pub(crate) fn new(id: i64, user: Option<&TgUser>) -> Self {
        let kind = if id > 0 {
            ChatKind::Private {
                first_name: user.map_or_else(|| format!("User {id}"), |u| u.first_name.clone()),
                username: user.and_then(|u| u.username.clone()),
            }
        } else if id <= -1_000_000_000_000 {
            ChatKind::Supergroup { title: format!("Supergroup {id}") }
        } else {
            ChatKind::Group { title: format!("Group {id}") }
        };
        Self {
            id,
            kind,
            next_message_id: 1,
            messages: Vec::new(),
            events: Vec::new(),
            reply_keyboard: Vec::new(),
        }
    }

    pub(crate) fn next_id(&mut self) -> i32 {
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }

    pub(crate) fn message(&self, id: i32) -> Option<&StoredMessage> {
        self.messages.binary_search_by_key(&id, |m| m.id).ok().map(|i| &self.messages[i])
    }

    pub(crate) fn message_mut(&mut self, id: i32) -> Option<&mut StoredMessage> {
        self.messages.binary_search_by_key(&id, |m| m.id).ok().map(|i| &mut self.messages[i])
    }
}
