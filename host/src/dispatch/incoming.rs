//! What the host needs of a Telegram update: the chat, the user, and what they
//! did (text, a command, a pressed button) — taken apart once, up front.

use teloxide::types::{Update, UpdateKind};
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
    pub fn from_update(update: Update) -> Option<Self> {
        let update_id = update.id.0;
        match update.kind {
            UpdateKind::Message(msg) => {
                let user = user(msg.from.as_ref()?);
                let input = match msg.text() {
                    Some(text) => parse_text(text),
                    None => Input::Unsupported,
                };
                Some(Self { update_id, chat: msg.chat.id.0, user, input })
            }
            UpdateKind::CallbackQuery(q) => {
                let user = user(&q.from);
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

fn user(u: &teloxide::types::User) -> User {
    // Telegram ids fit in 52 bits; the cast cannot wrap.
    User {
        id: u.id.0 as i64,
        name: u.full_name(),
        username: u.username.clone(),
        language_code: u.language_code.clone(),
    }
}

/// `/name@bot args` → a command; anything else → text.
pub fn parse_text(text: &str) -> Input {
    if let Some(rest) = text.strip_prefix('/') {
        let (head, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let name = head.split_once('@').map_or(head, |(n, _)| n);
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Input::Command { name: name.to_owned(), args: args.trim().to_owned() };
        }
    }
    Input::Text(text.to_owned())
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
