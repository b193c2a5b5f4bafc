//! Reads a `reply_markup` the way Telegram does, enforcing its button rules
//! (callback data 1–64 bytes, exactly one action per inline button).

use serde_json::Value;

use crate::error::{ApiError, ApiResult, descriptions};
use crate::types::Button;

/// The largest callback data Telegram accepts, in bytes.
pub(crate) const MAX_CALLBACK_DATA: usize = 64;

/// The action fields an inline button may carry; Telegram wants exactly one.
const ACTIONS: &[&str] = &[
    "callback_data",
    "url",
    "login_url",
    "web_app",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
];

/// A decoded `reply_markup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Markup {
    /// An inline keyboard attached to the message.
    Inline(Vec<Vec<Button>>),
    /// A reply keyboard replacing the user's keyboard, labels only.
    Reply(Vec<Vec<String>>),
    /// `remove_keyboard`: hides the reply keyboard.
    RemoveReply,
    /// `force_reply`: nothing to keep.
    ForceReply,
}

impl Markup {
    pub(crate) fn inline(&self) -> Vec<Vec<Button>> {
        match self {
            Self::Inline(rows) => rows.clone(),
            _ => Vec::new(),
        }
    }
}

/// Parses a `reply_markup` value (already decoded from JSON text if needed).
pub(crate) fn parse(value: &Value) -> ApiResult<Markup> {
    let refuse = || ApiError::bad_request(descriptions::CANT_PARSE_REPLY_MARKUP);
    let object = value.as_object().ok_or_else(refuse)?;
    if let Some(rows) = object.get("inline_keyboard") {
        return rows_of(rows, refuse)?
            .iter()
            .map(|row| row.iter().map(inline_button).collect())
            .collect::<ApiResult<_>>()
            .map(Markup::Inline);
    }
    if let Some(rows) = object.get("keyboard") {
        return rows_of(rows, refuse)?
            .iter()
            .map(|row| {
                row.iter()
                    .map(|b| {
                        b.as_str()
                            .or_else(|| b.get("text").and_then(Value::as_str))
                            .map(str::to_owned)
                            .ok_or_else(refuse)
                    })
                    .collect()
            })
            .collect::<ApiResult<_>>()
            .map(Markup::Reply);
    }
    if object.get("remove_keyboard").and_then(Value::as_bool) == Some(true) {
        return Ok(Markup::RemoveReply);
    }
    if object.get("force_reply").and_then(Value::as_bool) == Some(true) {
        return Ok(Markup::ForceReply);
    }
    Err(refuse())
}

fn rows_of(rows: &Value, refuse: impl Fn() -> ApiError) -> ApiResult<Vec<&Vec<Value>>> {
    rows.as_array().ok_or_else(&refuse)?.iter().map(|row| row.as_array().ok_or_else(&refuse)).collect()
}

fn inline_button(button: &Value) -> ApiResult<Button> {
    let text = button
        .get("text")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request(descriptions::CANT_PARSE_REPLY_MARKUP))?;
    let actions = ACTIONS.iter().filter(|key| button.get(**key).is_some_and(|v| !v.is_null())).count();
    if actions != 1 {
        return Err(ApiError::bad_request(descriptions::TEXT_BUTTONS_ARE_UNALLOWED));
    }
    let callback_data = match button.get("callback_data") {
        None | Some(Value::Null) => None,
        Some(Value::String(data)) if (1..=MAX_CALLBACK_DATA).contains(&data.len()) => Some(data.clone()),
        Some(_) => return Err(ApiError::bad_request(descriptions::BUTTON_DATA_INVALID)),
    };
    let url = match button.get("url") {
        None | Some(Value::Null) => None,
        Some(Value::String(url)) if valid_url(url) => Some(url.clone()),
        Some(_) => return Err(ApiError::bad_request(descriptions::BUTTON_URL_INVALID)),
    };
    Ok(Button { text: text.to_owned(), callback_data, url })
}

/// Telegram accepts http(s) and tg:// links with something after the scheme.
fn valid_url(url: &str) -> bool {
    ["http://", "https://", "tg://"].iter().any(|scheme| url.len() > scheme.len() && url.starts_with(scheme))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn callback_data_must_be_1_to_64_bytes() {
        let markup =
            |data: &str| parse(&json!({ "inline_keyboard": [[{ "text": "A", "callback_data": data }]] }));
        assert!(markup(&"x".repeat(64)).is_ok());
        // 33 two-byte letters are 66 bytes: the limit counts bytes, not chars.
        let err = markup(&"ж".repeat(33)).expect_err("too long");
        assert_eq!(err.description, descriptions::BUTTON_DATA_INVALID);
        assert!(markup("").is_err());
    }

    #[test]
    fn a_button_needs_exactly_one_action() {
        let err = parse(&json!({ "inline_keyboard": [[{ "text": "A" }]] })).expect_err("no action");
        assert_eq!(err.description, descriptions::TEXT_BUTTONS_ARE_UNALLOWED);
    }

    #[test]
    fn reply_keyboards_keep_their_labels() {
        let markup = parse(&json!({ "keyboard": [[{ "text": "Мои отчеты" }, "Помощь"]] }));
        assert_eq!(markup, Ok(Markup::Reply(vec![vec!["Мои отчеты".to_owned(), "Помощь".to_owned()]])));
    }
}
