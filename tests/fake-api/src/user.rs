//! [`ScriptedUser`]: a Telegram user a test drives step by step, with
//! assertions that wait for the bot and panic with the chat's transcript.

use std::future::Future;
use std::panic::Location;
use std::time::Duration;

use crate::api::FakeBotApi;
use crate::types::{BotMessage, Call, CallbackAnswer, TgUser};

/// How long an `expect_*` waits for the bot by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);

/// Methods whose successful calls put something new in front of the user.
const OUTPUT_METHODS: &[&str] = &[
    "sendMessage",
    "sendDocument",
    "sendPhoto",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
];

const EDIT_METHODS: &[&str] = &["editMessageText", "editMessageCaption", "editMessageReplyMarkup"];

/// A document the bot sent, as [`ScriptedUser::expect_document`] returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedDocument {
    /// The id of the message carrying the document.
    pub message_id: i32,
    /// The file name the bot gave it.
    pub file_name: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// The caption as the user sees it.
    pub caption: Option<String>,
}

impl ReceivedDocument {
    /// The content as UTF-8 text, replacing invalid sequences.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A user in one chat who sends text, presses buttons and expects answers.
///
/// Each `expect_*` looks at the bot's calls after a cursor and moves the
/// cursor past what it found, so expectations read in the order the bot acts.
#[derive(Debug)]
pub struct ScriptedUser {
    api: FakeBotApi,
    user: TgUser,
    chat: i64,
    cursor: usize,
    last_query: Option<String>,
    wait: Duration,
}

impl FakeBotApi {
    /// A scripted user in their private chat with the bot (chat id == user
    /// id). Calls made before this point are not expected by it.
    pub fn user(&self, id: i64, first_name: &str) -> ScriptedUser {
        ScriptedUser {
            api: self.clone(),
            user: TgUser::new(id, first_name),
            chat: id,
            cursor: self.call_count(),
            last_query: None,
            wait: DEFAULT_WAIT,
        }
    }
}

impl ScriptedUser {
    /// The same user in another chat, such as a group (negative id).
    pub fn in_chat(mut self, chat: i64) -> Self {
        self.chat = chat;
        self
    }

    /// The same user with a `@username`.
    pub fn with_username(mut self, username: &str) -> Self {
        self.user = self.user.with_username(username);
        self
    }

    /// The same user with another client language (`None` for none).
    pub fn with_language(mut self, language_code: Option<&str>) -> Self {
        self.user = self.user.with_language(language_code);
        self
    }

    /// How long `expect_*` waits before failing (default 5 s).
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// The Telegram user this script plays.
    pub fn tg_user(&self) -> &TgUser {
        &self.user
    }

    /// The chat this user talks in.
    pub fn chat_id(&self) -> i64 {
        self.chat
    }

    /// The fake server this user talks through.
    pub fn api(&self) -> &FakeBotApi {
        &self.api
    }

    /// The id of the last callback query this user sent.
    pub fn last_query(&self) -> Option<&str> {
        self.last_query.as_deref()
    }

    /// Sends a text message; returns its message id.
    pub fn send_text(&mut self, text: &str) -> i32 {
        self.api.push_text(self.chat, &self.user, text)
    }

    /// Presses the inline button whose label contains `label` (an exact
    /// label wins over a partial one) on the newest visible bot message that
    /// has one; returns the callback query id. Panics listing the visible
    /// buttons when there is none.
    #[track_caller]
    pub fn press(&mut self, label: &str) -> String {
        let caller = Location::caller();
        let visible = self.visible();
        let found = visible.iter().rev().find_map(|m| {
            let button = m.buttons().find(|b| b.text == label).or_else(|| m.button(label))?;
            Some((m.id, button.clone()))
        });
        let Some((message_id, button)) = found else {
            let buttons: Vec<String> = visible
                .iter()
                .flat_map(|m| m.buttons().map(move |b| format!("#{} [{}]", m.id, b.text)))
                .collect();
            self.fail(
                caller,
                &format!(
                    "no visible inline button contains {label:?}; visible buttons: {}",
                    if buttons.is_empty() { "none".to_owned() } else { buttons.join(", ") }
                ),
            )
        };
        let Some(data) = button.callback_data else {
            self.fail(
                caller,
                &format!("button [{}] on #{message_id} has no callback data (a URL button?)", button.text),
            )
        };
        self.press_data(message_id, &data)
    }

    /// Sends a callback query with any `data` for any message: replays of
    /// old buttons and forged data alike. Returns the query id.
    pub fn press_data(&mut self, message_id: i32, data: &str) -> String {
        let query = self.api.push_callback(self.chat, &self.user, message_id, data);
        self.last_query = Some(query.clone());
        query
    }

    /// Taps a reply-keyboard button: checks the bot currently shows a reply
    /// keyboard with a label containing `label`, then sends that label as
    /// text, as a Telegram client does. Returns the message id.
    #[track_caller]
    pub fn press_reply_button(&mut self, label: &str) -> i32 {
        let caller = Location::caller();
        let keyboard = self.api.reply_keyboard(self.chat);
        let labels: Vec<&String> = keyboard.iter().flatten().collect();
        let Some(found) =
            labels.iter().find(|l| l.as_str() == label).or_else(|| labels.iter().find(|l| l.contains(label)))
        else {
            self.fail(
                caller,
                &format!("no reply keyboard button contains {label:?}; reply keyboard: {labels:?}"),
            )
        };
        let text = (*found).clone();
        self.send_text(&text)
    }

    /// Waits for the bot's next `sendMessage` to this chat.
    #[track_caller]
    pub fn expect_message(&mut self) -> impl Future<Output = BotMessage> + '_ {
        let caller = Location::caller();
        async move {
            let call = self.next_call(caller, "a message", |c| c.method == "sendMessage").await;
            self.message_of(caller, &call)
        }
    }

    /// Waits for the bot's next `sendMessage` to this chat whose text
    /// contains `contains`; messages before it are skipped.
    #[track_caller]
    pub fn expect_text<'a>(&'a mut self, contains: &'a str) -> impl Future<Output = BotMessage> + 'a {
        let caller = Location::caller();
        async move {
            let call = self
                .next_call(caller, &format!("a message containing {contains:?}"), |c| {
                    c.method == "sendMessage"
                        && c.result()
                            .and_then(|r| r.get("text"))
                            .and_then(|t| t.as_str())
                            .is_some_and(|t| t.contains(contains))
                })
                .await;
            self.message_of(caller, &call)
        }
    }

    /// Waits for the bot's next `sendPhoto` to this chat.
    #[track_caller]
    pub fn expect_photo(&mut self) -> impl Future<Output = ReceivedDocument> + '_ {
        let caller = Location::caller();
        async move {
            let call = self.next_call(caller, "a photo", |c| c.method == "sendPhoto").await;
            let message = self.message_of(caller, &call);
            let Some(photo) = message.document.filter(|_| message.photo) else {
                self.fail(caller, &format!("message #{} has no photo", message.id))
            };
            ReceivedDocument {
                message_id: message.id,
                file_name: photo.file_name,
                bytes: photo.bytes,
                caption: message.caption,
            }
        }
    }

    /// Waits for the bot's next `sendDocument` to this chat.
    #[track_caller]
    pub fn expect_document(&mut self) -> impl Future<Output = ReceivedDocument> + '_ {
        let caller = Location::caller();
        async move {
            let call = self.next_call(caller, "a document", |c| c.method == "sendDocument").await;
            let message = self.message_of(caller, &call);
            let Some(document) = message.document else {
                self.fail(caller, &format!("message #{} has no document", message.id))
            };
            ReceivedDocument {
                message_id: message.id,
                file_name: document.file_name,
                bytes: document.bytes,
                caption: message.caption,
            }
        }
    }

    /// Waits for the bot's next edit (text, caption or keyboard) of a message
    /// in this chat; returns the message as it is now.
    #[track_caller]
    pub fn expect_edit(&mut self) -> impl Future<Output = BotMessage> + '_ {
        let caller = Location::caller();
        async move {
            let call = self.next_call(caller, "an edit", |c| EDIT_METHODS.contains(&c.method.as_str())).await;
            self.message_of(caller, &call)
        }
    }

    /// Waits for the bot to answer the last pressed callback query. Does not
    /// move the cursor: answers and messages come in either order.
    #[track_caller]
    pub fn expect_callback_answered(&mut self) -> impl Future<Output = CallbackAnswer> + '_ {
        let caller = Location::caller();
        async move {
            let Some(query) = self.last_query.clone() else {
                self.fail(caller, "expect_callback_answered before any press")
            };
            let api = self.api.clone();
            let answered = api
                .wait_call(
                    0,
                    |c| {
                        c.is_ok()
                            && c.method == "answerCallbackQuery"
                            && c.params.get("callback_query_id").and_then(|v| v.as_str())
                                == Some(query.as_str())
                    },
                    self.wait,
                )
                .await;
            match answered.and_then(|_| api.callback_answer(&query)) {
                Some(answer) => answer,
                None => self
                    .fail(caller, &format!("callback query {query} was not answered within {:?}", self.wait)),
            }
        }
    }

    /// Waits `for_` and fails if the bot sends or edits anything in this
    /// chat meanwhile. Does not move the cursor.
    #[track_caller]
    pub fn expect_silence(&mut self, for_: Duration) -> impl Future<Output = ()> + '_ {
        let caller = Location::caller();
        async move {
            let chat = self.chat;
            let found = self
                .api
                .wait_call(
                    self.cursor,
                    |c| c.is_ok() && c.chat_id() == Some(chat) && OUTPUT_METHODS.contains(&c.method.as_str()),
                    for_,
                )
                .await;
            if let Some((call, _)) = found {
                self.fail(
                    caller,
                    &format!(
                        "expected silence for {for_:?}, but the bot called {} (call #{})",
                        call.method, call.seq
                    ),
                );
            }
        }
    }

    /// The bot's messages in this chat that are still visible, oldest first.
    pub fn visible(&self) -> Vec<BotMessage> {
        self.api.messages(self.chat)
    }

    /// The newest visible bot message in this chat.
    pub fn last_visible(&self) -> Option<BotMessage> {
        self.visible().pop()
    }

    /// A readable dump of this chat.
    pub fn transcript(&self) -> String {
        self.api.transcript(self.chat)
    }

    async fn next_call(
        &mut self,
        caller: &'static Location<'static>,
        what: &str,
        pred: impl Fn(&Call) -> bool,
    ) -> Call {
        let chat = self.chat;
        let found = self
            .api
            .wait_call(self.cursor, |c| c.is_ok() && c.chat_id() == Some(chat) && pred(c), self.wait)
            .await;
        match found {
            Some((call, next)) => {
                self.cursor = next;
                call
            }
            None => self.fail(caller, &format!("expected {what} from the bot within {:?}", self.wait)),
        }
    }

    fn message_of(&self, caller: &'static Location<'static>, call: &Call) -> BotMessage {
        call.result_message_id().and_then(|id| self.api.message(self.chat, id)).unwrap_or_else(|| {
            self.fail(caller, &format!("call #{} returned no message of this chat", call.seq))
        })
    }

    /// Panics with the caller's location, the chat transcript and the calls
    /// since the cursor, which together usually explain the failure.
    fn fail(&self, caller: &'static Location<'static>, what: &str) -> ! {
        let (calls, _) = self.api.calls_since(self.cursor);
        let calls: Vec<String> = calls
            .iter()
            .filter(|c| c.method != "getUpdates" || !c.is_ok())
            .map(|c| {
                format!(
                    "  #{} {} chat={} → {}{}",
                    c.seq,
                    c.method,
                    c.chat_id().map_or_else(|| "-".to_owned(), |id| id.to_string()),
                    c.status,
                    c.description.as_deref().map(|d| format!(" {d}")).unwrap_or_default()
                )
            })
            .collect();
        panic!(
            "{caller}: {what}\n\n{}\ncalls since the cursor (getUpdates hidden):\n{}\n",
            self.transcript(),
            if calls.is_empty() { "  none".to_owned() } else { calls.join("\n") }
        )
    }
}
