//! A Telegram update as the host reads it: its id, the key its chat's order
//! is kept by, and what it holds for plugins — read straight from the JSON,
//! for the fields the host uses and nothing else.
//!
//! teloxide's `Update` is the whole Bot API schema behind untagged enums:
//! reading one buffers the message into a tree and tries each shape in turn,
//! building and dropping a formatted error for every shape it is not — about
//! a third of a bare teloxide bot's instructions per update. Polling, the
//! webhook, the inbox and the Redis queue all read updates here instead.

use serde::Deserialize;
use vox_plugin::{Input, User};

use super::incoming::{Incoming, parse_owned_text};

/// One update from Telegram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Telegram's `update_id`.
    pub id: u32,
    /// What the update is for plugins; `None` for the kinds the host does
    /// not serve (an edited message, a message with no sender, …).
    pub incoming: Option<Incoming>,
}

impl Received {
    /// Reads an update from its JSON. Fails only when the JSON is not an
    /// update at all (no `update_id`, or a field of the wrong type).
    pub fn parse(json: &[u8]) -> Result<Self, serde_json::Error> {
        let update: Wire = serde_json::from_slice(json)?;
        Ok(update.into())
    }

    /// The key one chat's updates are ordered by: the chat, else the user
    /// (an inline button's press carries no chat), else none (handled on its own).
    pub fn chat_key(&self) -> Option<i64> {
        self.incoming.as_ref().map(|i| i.chat)
    }
}

/// The id of an update that cannot be read otherwise, to step past it.
#[derive(Deserialize)]
pub(crate) struct IdOnly {
    pub(crate) update_id: u32,
}

#[derive(Deserialize)]
struct Wire {
    update_id: u32,
    message: Option<Message>,
    callback_query: Option<CallbackQuery>,
}

#[derive(Deserialize)]
struct Message {
    chat: Chat,
    from: Option<From>,
    text: Option<String>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
}

#[derive(Deserialize)]
struct From {
    id: u64,
    first_name: String,
    last_name: Option<String>,
    username: Option<String>,
    language_code: Option<String>,
}

#[derive(Deserialize)]
struct CallbackQuery {
    id: String,
    from: From,
    /// The message the button was under (possibly an inaccessible one: its
    /// chat and id are all Telegram still sends).
    message: Option<ButtonMessage>,
    data: Option<String>,
}

#[derive(Deserialize)]
struct ButtonMessage {
    message_id: i32,
    chat: Chat,
}

impl std::convert::From<Wire> for Received {
    fn from(update: Wire) -> Self {
        let update_id = update.update_id;
        let incoming = match (update.message, update.callback_query) {
            (Some(msg), _) => msg.from.map(|from| Incoming {
                update_id,
                chat: msg.chat.id,
                user: user(from),
                // Only a text is an input; a photo, a sticker, a service message are not.
                input: msg.text.map_or(Input::Unsupported, parse_owned_text),
            }),
            (None, Some(q)) => {
                let user = user(q.from);
                let (chat, message_id) = match q.message {
                    Some(m) => (m.chat.id, Some(m.message_id)),
                    None => (user.id, None),
                };
                Some(Incoming {
                    update_id,
                    chat,
                    user,
                    input: Input::Callback { query_id: q.id, data: q.data.unwrap_or_default(), message_id },
                })
            }
            (None, None) => None,
        };
        Received { id: update_id, incoming }
    }
}

fn user(u: From) -> User {
    let name = match u.last_name {
        Some(last) => {
            let mut name = u.first_name;
            name.reserve(1 + last.len());
            name.push(' ');
            name.push_str(&last);
            name
        }
        None => u.first_name,
    };
    // Telegram ids fit in 52 bits; the cast cannot wrap.
    User { id: u.id as i64, name, username: u.username, language_code: u.language_code }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(update: serde_json::Value) -> Received {
        Received::parse(update.to_string().as_bytes()).expect("an update")
    }

    fn from() -> serde_json::Value {
        json!({"id": 7, "is_bot": false, "first_name": "Анна", "last_name": "Петрова",
               "username": "anna", "language_code": "ru"})
    }

    fn message(fields: serde_json::Value) -> serde_json::Value {
        let mut m = json!({"message_id": 1, "date": 0, "from": from(),
                           "chat": {"id": 70, "type": "private", "first_name": "Анна"}});
        for (k, v) in fields.as_object().expect("fields").clone() {
            m[k] = v;
        }
        json!({"update_id": 5, "message": m})
    }

    #[test]
    fn a_message_gives_its_chat_user_and_text() {
        let received = read(message(json!({"text": "12", "entities": []})));
        assert_eq!(received.id, 5);
        assert_eq!(received.chat_key(), Some(70));
        let incoming = received.incoming.expect("served");
        assert_eq!((incoming.update_id, incoming.chat, incoming.user.id), (5, 70, 7));
        assert_eq!(incoming.user.name, "Анна Петрова");
        assert_eq!(incoming.user.username.as_deref(), Some("anna"));
        assert_eq!(incoming.user.language_code.as_deref(), Some("ru"));
        assert_eq!(incoming.input, Input::Text("12".into()));
        let incoming = read(message(json!({"text": "/start@vox_bot x"}))).incoming.expect("served");
        assert_eq!(incoming.input, Input::Command { name: "start".into(), args: "x".into() });
    }

    #[test]
    fn a_message_without_text_is_unsupported_and_one_without_a_sender_is_not_served() {
        let photo = json!({"photo": [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}],
                           "caption": "12"});
        assert_eq!(read(message(photo)).incoming.expect("served").input, Input::Unsupported);
        let mut anonymous = message(json!({"text": "12"}));
        anonymous["message"].as_object_mut().expect("message").remove("from");
        let received = read(anonymous);
        assert_eq!(received.chat_key(), None);
        assert_eq!(received, Received { id: 5, incoming: None });
    }

    #[test]
    fn a_press_gives_its_query_data_and_message_or_the_user_as_chat() {
        let press = |message: Option<serde_json::Value>| {
            let mut q = json!({"id": "q1", "from": from(), "chat_instance": "c", "data": "rep:v2:1"});
            if let Some(m) = message {
                q["message"] = m;
            }
            read(json!({"update_id": 9, "callback_query": q}))
        };
        let under =
            json!({"message_id": 33, "date": 0, "chat": {"id": 70, "type": "private"}, "text": "Меню"});
        let incoming = press(Some(under)).incoming.expect("served");
        assert_eq!(incoming.chat, 70);
        assert_eq!(
            incoming.input,
            Input::Callback { query_id: "q1".into(), data: "rep:v2:1".into(), message_id: Some(33) }
        );
        // An inaccessible message (date 0) still names its chat and id.
        let gone = json!({"message_id": 34, "date": 0, "chat": {"id": 71, "type": "private"}});
        assert_eq!(press(Some(gone)).chat_key(), Some(71));
        // An inline message's button: no message, ordered by the user.
        let inline = press(None);
        assert_eq!(inline.chat_key(), Some(7));
        assert!(matches!(inline.incoming.expect("served").input, Input::Callback { message_id: None, .. }));
    }

    #[test]
    fn other_kinds_keep_their_id_and_are_not_served() {
        let edited = json!({"update_id": 11, "edited_message": {"message_id": 1, "date": 0, "edit_date": 1,
                            "chat": {"id": 70, "type": "private"}, "text": "x"}});
        assert_eq!(read(edited), Received { id: 11, incoming: None });
        assert_eq!(read(json!({"update_id": 12, "some_future_kind": {"a": [1, {"b": null}]}})).id, 12);
    }

    #[test]
    fn what_is_not_an_update_is_an_error() {
        for bad in
            [&b"not json"[..], b"{}", b"[1]", br#"{"update_id":"x"}"#, br#"{"update_id":1,"message":5}"#]
        {
            assert!(Received::parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn it_reads_what_teloxides_parser_reads() {
        // The same updates through teloxide's Update: the same chat, user and input.
        use teloxide::types::{MediaKind, MediaText, MessageCommon, MessageKind, Update, UpdateKind};
        let updates = [
            message(json!({"text": "/menu"})),
            message(json!({"text": "привет", "reply_to_message": {"message_id": 0, "date": 0,
                           "chat": {"id": 70, "type": "private"}, "text": "x"}})),
        ];
        for update in updates {
            let text = update.to_string();
            let ours = Received::parse(text.as_bytes()).expect("ours").incoming.expect("served");
            let theirs: Update = serde_json::from_str(&text).expect("teloxide's");
            let UpdateKind::Message(m) = theirs.kind else { panic!("a message") };
            assert_eq!(ours.chat, m.chat.id.0);
            assert_eq!(ours.user.id, m.from.expect("from").id.0 as i64);
            let MessageKind::Common(MessageCommon {
                media_kind: MediaKind::Text(MediaText { text, .. }),
                ..
            }) = m.kind
            else {
                panic!("a text")
            };
            assert_eq!(ours.input, crate::dispatch::incoming::parse_text(&text));
        }
    }
}
