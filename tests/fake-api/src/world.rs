//! The recorded world behind the fake: chats with every message (bot and user,
//! deleted ones too), pending updates, callback queries, commands and the call log.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use axum::body::Bytes;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, descriptions};
use crate::faults::FaultQueue;
use crate::types::{
    BotMessage, Call, CallbackAnswer, Command, Document, MessageVersion, TgUser, UserMessage,
};
use crate::wire;

pub(crate) use crate::chat::{
    BotIdentity, ChatKind, ChatState, Content, Event, Sender, StoredFile, StoredMessage,
};

#[derive(Clone, Debug)]
struct QueryState {
    chat: i64,
    answer: Option<CallbackAnswer>,
}

#[derive(Clone, Debug)]
struct QueuedUpdate {
    id: i64,
    chat: i64,
    body: Value,
    /// A webhook delivery of it is under way.
    delivering: bool,
}

/// How often a method was called, and how many of those calls were answered `ok`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MethodCount {
    pub(crate) calls: u64,
    pub(crate) ok: u64,
}

/// What a new bot message carries, already validated by the method.
pub(crate) struct Outgoing {
    pub(crate) content: Content,
    pub(crate) document: Option<StoredFile>,
    /// The file was sent with `sendPhoto`.
    pub(crate) photo: bool,
    /// `Some` when the message sets (non-empty) or removes (empty) the reply keyboard.
    pub(crate) reply_keyboard: Option<Vec<Vec<String>>>,
}

/// All the fake's state, behind one lock.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) bot: BotIdentity,
    chats: BTreeMap<i64, ChatState>,
    next_update_id: i64,
    updates: VecDeque<QueuedUpdate>,
    /// The `allowed_updates` the bot last asked for; Telegram keeps the last
    /// non-empty setting and stops queueing other kinds.
    allowed_updates: Option<Vec<String>>,
    queries: HashMap<String, QueryState>,
    next_query: u64,
    files: HashMap<String, StoredFile>,
    next_file: u64,
    commands: BTreeMap<(String, String), Vec<Command>>,
    blocked: HashSet<i64>,
    pub(crate) calls: Vec<Call>,
    /// Whether `calls` keeps each call (the counts are kept either way).
    pub(crate) keep_calls: bool,
    /// Calls per method, so a counter need not scan or clone the call log.
    call_counts: HashMap<String, MethodCount>,
    pub(crate) faults: FaultQueue,
    pub(crate) unreachable: bool,
    /// Telegram's flood limits, when a test turned them on.
    pub(crate) limits: Option<crate::limits::RateWindows>,
    /// Random faults, when a soak turned them on.
    pub(crate) chaos: Option<crate::faults::ChaosState>,
    /// The webhook the bot set, if any (updates then go there, not to getUpdates).
    pub(crate) webhook: Option<crate::webhook::Webhook>,
    /// Every webhook delivery attempt, oldest first.
    pub(crate) deliveries: Vec<crate::webhook::Delivery>,
}

impl World {
    pub(crate) fn new(bot: BotIdentity) -> Self {
        Self {
            bot,
            chats: BTreeMap::new(),
            next_update_id: 1,
            updates: VecDeque::new(),
            allowed_updates: None,
            queries: HashMap::new(),
            next_query: 1,
            files: HashMap::new(),
            next_file: 1,
            commands: BTreeMap::new(),
            blocked: HashSet::new(),
            calls: Vec::new(),
            keep_calls: true,
            call_counts: HashMap::new(),
            faults: FaultQueue::default(),
            unreachable: false,
            limits: None,
            chaos: None,
            webhook: None,
            deliveries: Vec::new(),
        }
    }

    pub(crate) fn chat(&self, id: i64) -> Option<&ChatState> {
        self.chats.get(&id)
    }

    fn chat_mut(&mut self, id: i64, user: Option<&TgUser>) -> &mut ChatState {
        self.chats.entry(id).or_insert_with(|| ChatState::new(id, user))
    }

    // ----- updates -------------------------------------------------------

    fn allowed(&self, kind: &str) -> bool {
        self.allowed_updates.as_ref().is_none_or(|kinds| kinds.iter().any(|k| k == kind))
    }

    fn queue_update(&mut self, chat: i64, kind: &'static str, body: Value) {
        if !self.allowed(kind) {
            self.chat_mut(chat, None).events.push(Event::Filtered { kind });
            return;
        }
        let id = self.next_update_id;
        self.next_update_id += 1;
        let body = wire::object([("update_id", id.into()), (kind, body)]);
        self.updates.push_back(QueuedUpdate { id, chat, body, delivering: false });
    }

    pub(crate) fn set_allowed_updates(&mut self, kinds: Vec<String>) {
        self.allowed_updates = (!kinds.is_empty()).then_some(kinds);
    }

    /// Confirms updates below `offset` (negative: keeps only the last
    /// `-offset`), then returns up to `limit` of those left.
    pub(crate) fn updates_from(&mut self, offset: Option<i64>, limit: usize) -> Vec<Value> {
        match offset {
            Some(offset) if offset < 0 => {
                let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
                while self.updates.len() > keep {
                    self.updates.pop_front();
                }
            }
            Some(offset) => {
                while self.updates.front().is_some_and(|u| u.id < offset) {
                    self.updates.pop_front();
                }
            }
            None => {}
        }
        self.updates.iter().take(limit).map(|u| u.body.clone()).collect()
    }

    /// The next update to deliver to the webhook, marked as under way: the
    /// oldest of a chat with nothing under way and no older update waiting,
    /// while fewer than `max_in_flight` deliveries are under way (Telegram's
    /// `max_connections`; one chat's updates go one at a time, in order).
    pub(crate) fn next_delivery(&mut self, max_in_flight: usize) -> Option<(i64, Value)> {
        if self.updates.iter().filter(|u| u.delivering).count() >= max_in_flight {
            return None;
        }
        let mut blocked = std::collections::HashSet::new();
        for u in self.updates.iter_mut() {
            if !u.delivering && !blocked.contains(&u.chat) {
                u.delivering = true;
                return Some((u.id, u.body.clone()));
            }
            blocked.insert(u.chat);
        }
        None
    }

    /// A delivery of `id` ended: confirmed (gone) or to be tried again.
    pub(crate) fn delivery_done(&mut self, id: i64, confirmed: bool) {
        if confirmed {
            self.updates.retain(|u| u.id != id);
        } else if let Some(u) = self.updates.iter_mut().find(|u| u.id == id) {
            u.delivering = false;
        }
    }

    pub(crate) fn pending_updates(&self) -> usize {
        self.updates.len()
    }

    pub(crate) fn push_text(&mut self, chat: i64, from: &TgUser, text: &str) -> i32 {
        let entities = wire::command_entities(text);
        let state = self.chat_mut(chat, Some(from));
        let id = state.next_id();
        state.messages.push(StoredMessage {
            id,
            date: wire::unix_now(),
            edit_date: None,
            sender: Sender::User(from.clone()),
            current: Content { text: Some(text.to_owned()), ..Content::default() },
            history: Vec::new(),
            document: None,
            photo: false,
            reply_keyboard: Vec::new(),
            entities,
            deleted: false,
        });
        state.events.push(Event::UserSent(id));
        let body = self.message_json(chat, id).unwrap_or(Value::Null);
        self.queue_update(chat, "message", body);
        id
    }

    pub(crate) fn push_callback(&mut self, chat: i64, from: &TgUser, message_id: i32, data: &str) -> String {
        let query = format!("{}{:04}", from.id.unsigned_abs(), self.next_query);
        self.next_query += 1;
        self.queries.insert(query.clone(), QueryState { chat, answer: None });
        let state = self.chat_mut(chat, Some(from));
        state.events.push(Event::Pressed {
            query: query.clone(),
            message_id,
            data: data.to_owned(),
            user: from.first_name.clone(),
        });
        let chat_json = wire::chat(state);
        // A forged press on a message the fake never saw still needs
        // message_id, date and chat, or teloxide drops the whole update.
        let message = self.message_json(chat, message_id).unwrap_or_else(
            || json!({ "message_id": message_id, "date": wire::unix_now(), "chat": chat_json }),
        );
        let body = wire::object([
            ("id", query.clone().into()),
            ("from", wire::user(from)),
            ("message", message),
            ("chat_instance", format!("ci{}", chat.unsigned_abs()).into()),
            ("data", data.into()),
        ]);
        self.queue_update(chat, "callback_query", body);
        query
    }

    // ----- bot messages --------------------------------------------------

    pub(crate) fn check_not_blocked(&self, chat: i64) -> ApiResult<()> {
        if self.blocked.contains(&chat) {
            return Err(ApiError::new(403, descriptions::BOT_BLOCKED));
        }
        Ok(())
    }

    pub(crate) fn set_blocked(&mut self, chat: i64, blocked: bool) {
        if blocked {
            self.blocked.insert(chat);
        } else {
            self.blocked.remove(&chat);
        }
    }

    /// Stores a new bot message and returns its JSON.
    pub(crate) fn send(&mut self, chat: i64, outgoing: Outgoing) -> ApiResult<Value> {
        self.check_not_blocked(chat)?;
        if let Some(file) = &outgoing.document {
            self.files.insert(file.file_id.clone(), file.clone());
        }
        let state = self.chat_mut(chat, None);
        let id = state.next_id();
        if let Some(keyboard) = &outgoing.reply_keyboard {
            state.reply_keyboard = keyboard.clone();
        }
        state.messages.push(StoredMessage {
            id,
            date: wire::unix_now(),
            edit_date: None,
            sender: Sender::Bot,
            current: outgoing.content,
            history: Vec::new(),
            document: outgoing.document,
            photo: outgoing.photo,
            reply_keyboard: outgoing.reply_keyboard.unwrap_or_default(),
            entities: None,
            deleted: false,
        });
        state.events.push(Event::BotSent(id));
        self.message_json(chat, id).ok_or_else(|| ApiError::status(500))
    }

    /// A new file id for an upload.
    pub(crate) fn store_upload(
        &mut self,
        file_name: String,
        mime_type: Option<String>,
        bytes: Bytes,
    ) -> StoredFile {
        let n = self.next_file;
        self.next_file += 1;
        StoredFile {
            file_id: format!("BQACAgIAAxkDAAI{n:06}fake"),
            file_unique_id: format!("AgAD{n:06}"),
            file_name,
            mime_type,
            bytes,
        }
    }

    pub(crate) fn file(&self, file_id: &str) -> Option<StoredFile> {
        self.files.get(file_id).cloned()
    }

    /// Replaces a bot message's content (text or caption, and keyboard).
    pub(crate) fn edit(
        &mut self,
        chat: i64,
        id: i32,
        change: impl FnOnce(&Content) -> ApiResult<Content>,
    ) -> ApiResult<Value> {
        let not_found = || ApiError::bad_request(descriptions::MESSAGE_TO_EDIT_NOT_FOUND);
        let state = self.chats.get_mut(&chat).ok_or_else(not_found)?;
        let msg = state.message_mut(id).filter(|m| !m.deleted).ok_or_else(not_found)?;
        if !msg.is_bot() {
            return Err(ApiError::bad_request(descriptions::MESSAGE_CANT_BE_EDITED));
        }
        let next = change(&msg.current)?;
        if next == msg.current {
            return Err(ApiError::bad_request(descriptions::MESSAGE_NOT_MODIFIED));
        }
        let previous = std::mem::replace(&mut msg.current, next);
        msg.history.push(previous);
        msg.edit_date = Some(wire::unix_now());
        let version = msg.history.len();
        state.events.push(Event::Edited { id, version });
        self.message_json(chat, id).ok_or_else(|| ApiError::status(500))
    }

    /// Deletes a message; the error is Telegram's "message to delete not found".
    pub(crate) fn delete(&mut self, chat: i64, id: i32) -> ApiResult<()> {
        let msg = self
            .chats
            .get_mut(&chat)
            .and_then(|s| s.message_mut(id))
            .filter(|m| !m.deleted)
            .ok_or_else(|| ApiError::bad_request(descriptions::MESSAGE_TO_DELETE_NOT_FOUND))?;
        msg.deleted = true;
        if let Some(state) = self.chats.get_mut(&chat) {
            state.events.push(Event::Deleted(id));
        }
        Ok(())
    }

    pub(crate) fn message_json(&self, chat: i64, id: i32) -> Option<Value> {
        let state = self.chats.get(&chat)?;
        let msg = state.message(id)?;
        Some(wire::message(&self.bot, state, msg))
    }

    // ----- callback queries ---------------------------------------------

    pub(crate) fn answer(&mut self, query: &str, answer: CallbackAnswer) -> ApiResult<()> {
        let state = self
            .queries
            .get_mut(query)
            .filter(|q| q.answer.is_none())
            .ok_or_else(|| ApiError::bad_request(descriptions::QUERY_IS_TOO_OLD))?;
        state.answer = Some(answer.clone());
        let chat = state.chat;
        self.chat_mut(chat, None).events.push(Event::Answered { query: query.to_owned(), answer });
        Ok(())
    }

    pub(crate) fn callback_answer(&self, query: &str) -> Option<CallbackAnswer> {
        self.queries.get(query)?.answer.clone()
    }

    pub(crate) fn query_chat(&self, query: &str) -> Option<i64> {
        self.queries.get(query).map(|q| q.chat)
    }

    // ----- commands ------------------------------------------------------

    pub(crate) fn set_commands(&mut self, key: (String, String), commands: Vec<Command>) {
        self.commands.insert(key, commands);
    }

    pub(crate) fn commands(&self, key: &(String, String)) -> Vec<Command> {
        self.commands.get(key).cloned().unwrap_or_default()
    }

    pub(crate) fn delete_commands(&mut self, key: &(String, String)) {
        self.commands.remove(key);
    }

    // ----- reading back --------------------------------------------------

    /// Notes one recorded call of `method`; allocates only for a method's first call.
    pub(crate) fn count_call(&mut self, method: &str, ok: bool) {
        let count = match self.call_counts.get_mut(method) {
            Some(count) => count,
            None => self.call_counts.entry(method.to_owned()).or_default(),
        };
        count.calls += 1;
        count.ok += u64::from(ok);
    }

    pub(crate) fn call_count(&self, method: &str) -> MethodCount {
        self.call_counts.get(method).copied().unwrap_or_default()
    }

    pub(crate) fn call_counts(&self) -> impl Iterator<Item = (&str, MethodCount)> {
        self.call_counts.iter().map(|(method, count)| (method.as_str(), *count))
    }

    pub(crate) fn note_refused(&mut self, chat: i64, method: &str, description: &str) {
        if let Some(state) = self.chats.get_mut(&chat) {
            state
                .events
                .push(Event::Refused { method: method.to_owned(), description: description.to_owned() });
        }
    }

    pub(crate) fn bot_messages(&self, chat: i64) -> Vec<BotMessage> {
        let Some(state) = self.chats.get(&chat) else {
            return Vec::new();
        };
        state.messages.iter().filter(|m| m.is_bot()).map(|m| bot_message(chat, m)).collect()
    }

    pub(crate) fn bot_message(&self, chat: i64, id: i32) -> Option<BotMessage> {
        let msg = self.chats.get(&chat)?.message(id)?;
        msg.is_bot().then(|| bot_message(chat, msg))
    }

    pub(crate) fn user_messages(&self, chat: i64) -> Vec<UserMessage> {
        let Some(state) = self.chats.get(&chat) else {
            return Vec::new();
        };
        state
            .messages
            .iter()
            .filter_map(|m| match &m.sender {
                Sender::User(user) => Some(UserMessage {
                    id: m.id,
                    chat,
                    from: user.id,
                    text: m.current.text.clone().unwrap_or_default(),
                    deleted: m.deleted,
                }),
                Sender::Bot => None,
            })
            .collect()
    }

    pub(crate) fn reply_keyboard(&self, chat: i64) -> Vec<Vec<String>> {
        self.chats.get(&chat).map(|s| s.reply_keyboard.clone()).unwrap_or_default()
    }
}

fn bot_message(chat: i64, msg: &StoredMessage) -> BotMessage {
    BotMessage {
        id: msg.id,
        chat,
        text: msg.current.text.clone(),
        caption: msg.current.caption.clone(),
        parse_mode: msg.current.parse_mode.clone(),
        keyboard: msg.current.keyboard.clone(),
        reply_keyboard: msg.reply_keyboard.clone(),
        document: msg
            .document
            .as_ref()
            .map(|f| Document { file_name: f.file_name.clone(), bytes: f.bytes.to_vec() }),
        photo: msg.photo,
        deleted: msg.deleted,
        edits: msg
            .history
            .iter()
            .map(|c| MessageVersion {
                text: c.text.clone(),
                caption: c.caption.clone(),
                keyboard: c.keyboard.clone(),
            })
            .collect(),
    }
}
