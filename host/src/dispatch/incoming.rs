//! What the host needs of a Telegram update: the chat, the user, and what they
//! did (text, a command, a pressed button) — taken apart once, up front (from
//! the JSON, by [`super::received`]).

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

/// `/name@bot args` → a command; anything else → text.
pub fn parse_text(text: &str) -> Input {
    command(text).unwrap_or_else(|| Input::Text(text.to_owned()))
}

/// [`parse_text`] of a text the caller owns: plain text keeps its buffer.
pub(crate) fn parse_owned_text(text: String) -> Input {
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
