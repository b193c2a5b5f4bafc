//! What the host needs of a Telegram update: the chat, the user, and what they
//! did (text, a command, a pressed button) — taken apart once, up front.

use teloxide::types::{MediaKind, MediaText, MessageCommon, MessageKind, Update, UpdateKind};
use vox_plugin::{Input, User};

/// What the host needs of an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Telegram's `update_id` (0 when the update came from elsewhere).
    pub update_id: u32,
    /// The chat.
    pub chat: i64,
    /// The user.
    pub user: User,
    /// What they did.
    pub input: Input,
}

impl Incoming {
    /// Takes a message or a callback query apart; other updates are not for plugins.
    /// The update is consumed: its strings move into the result instead of being copied.
    pub fn from_update(update: Update) -> Option<Self> {
        let update_id = update.id.0;
        match update.kind {
            UpdateKind::Message(msg) => {
                let user = user(msg.from?);
                let input = match msg.kind {
                    MessageKind::Common(MessageCommon {
                        media_kind: MediaKind::Text(MediaText { text, .. }),
                        ..
                    }) => parse_owned_text(text),
                    _ => Input::Unsupported,
                };
                Some(Self { update_id, chat: msg.chat.id.0, user, input })
            }
            UpdateKind::CallbackQuery(q) => {
                let user = user(q.from);
                let (chat, message_id) = match &q.message {
                    Some(m) => (m.chat().id.0, Some(m.id().0)),
                    None => (user.id, None),
                };
                let input =
                    Input::Callback { query_id: q.id.0, data: q.data.unwrap_or_default(), message_id };
                Some(Self { update_id, chat, user, input })
            }
            _ => None,
        }
    }
}

fn user(u: teloxide::types::User) -> User {
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
    User { id: u.id.0 as i64, name, username: u.username, language_code: u.language_code }
}

/// `/name@bot args` → a command; anything else → text.
pub fn parse_text(text: &str) -> Input {
    command(text).unwrap_or_else(|| Input::Text(text.to_owned()))
}

/// [`parse_text`] of a text the caller owns: plain text keeps its buffer.
fn parse_owned_text(text: String) -> Input {
    command(&text).unwrap_or(Input::Text(text))
}

fn command(text: &str) -> Option<Input> {
    let rest = text.strip_prefix('/')?;
    let (head, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let name = head.split_once('@').map_or(head, |(n, _)| n);
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then(|| Input::Command { name: name.to_owned(), args: args.trim().to_owned() })
}

pub(crate) fn kind_of(input: &Input) -> &'static str {
    match input {
        Input::Text(_) => "text",
        Input::Command { .. } => "command",
        Input::Callback { .. } => "callback",
        Input::Unsupported => "unsupported",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_the_ones_the_metric_help_names() {
        assert_eq!(kind_of(&Input::Unsupported), "unsupported");
        assert_eq!(kind_of(&Input::text("3")), "text");
        assert_eq!(kind_of(&Input::command("start", "")), "command");
        assert_eq!(kind_of(&Input::callback("x")), "callback");
    }

    fn update(json: serde_json::Value) -> Update {
        // From text, as updates arrive: teloxide's Update does not read from a `Value`.
        serde_json::from_str(&json.to_string()).expect("an update teloxide parses")
    }

    #[test]
    fn a_message_update_gives_its_chat_user_and_text() {
        let from = serde_json::json!({
            "id": 7, "is_bot": false, "first_name": "Анна", "last_name": "Петрова",
            "username": "anna", "language_code": "ru"
        });
        let message = |text: &str| {
            serde_json::json!({
                "update_id": 5,
                "message": {
                    "message_id": 1, "date": 0, "text": text, "from": from.clone(),
                    "chat": {"id": 70, "type": "private", "first_name": "Анна"}
                }
            })
        };
        let incoming = Incoming::from_update(update(message("12"))).expect("a message");
        assert_eq!((incoming.update_id, incoming.chat), (5, 70));
        assert_eq!(incoming.user.id, 7);
        assert_eq!(incoming.user.name, "Анна Петрова");
        assert_eq!(incoming.user.username.as_deref(), Some("anna"));
        assert_eq!(incoming.user.language_code.as_deref(), Some("ru"));
        assert_eq!(incoming.input, Input::Text("12".into()));
        let incoming = Incoming::from_update(update(message("/start x"))).expect("a message");
        assert_eq!(incoming.input, Input::Command { name: "start".into(), args: "x".into() });
    }

    #[test]
    fn commands_are_parsed_with_bot_suffix_and_args() {
        assert_eq!(parse_text("/start"), Input::Command { name: "start".into(), args: String::new() });
        assert_eq!(
            parse_text("/menu@vox_bot  now "),
            Input::Command { name: "menu".into(), args: "now".into() }
        );
        assert_eq!(parse_text("/"), Input::Text("/".into()));
        assert_eq!(parse_text("/ привет"), Input::Text("/ привет".into()));
        assert_eq!(parse_text("12"), Input::Text("12".into()));
    }
}
