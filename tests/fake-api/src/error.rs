//! Telegram-style error answers (`{"ok":false,"error_code":..,"description":..}`)
//! and the exact descriptions the fake uses, so tests can match on them.

use serde_json::{Value, json};

/// The descriptions the fake answers with. Where teloxide-core 0.13 knows the
/// text, it is spelled exactly as teloxide matches it, so the host sees a typed
/// `ApiError` variant instead of `ApiError::Unknown`.
pub mod descriptions {
    /// Editing to identical text and markup (teloxide `MessageNotModified`).
    pub const MESSAGE_NOT_MODIFIED: &str = "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";
    /// Deleting a missing or already deleted message (teloxide `MessageToDeleteNotFound`).
    pub const MESSAGE_TO_DELETE_NOT_FOUND: &str = "Bad Request: message to delete not found";
    /// Editing a missing or deleted message (teloxide `MessageToEditNotFound`).
    pub const MESSAGE_TO_EDIT_NOT_FOUND: &str = "Bad Request: message to edit not found";
    /// Editing a message the bot did not send.
    pub const MESSAGE_CANT_BE_EDITED: &str = "Bad Request: message can't be edited";
    /// `editMessageText` on a message without text, e.g. a document.
    pub const NO_TEXT_TO_EDIT: &str = "Bad Request: there is no text in the message to edit";
    /// Empty text (teloxide `MessageTextIsEmpty`).
    pub const MESSAGE_TEXT_IS_EMPTY: &str = "Bad Request: message text is empty";
    /// Text over 4096 characters (teloxide `MessageIsTooLong`).
    pub const MESSAGE_IS_TOO_LONG: &str = "Bad Request: message is too long";
    /// A caption over 1024 characters.
    pub const MESSAGE_CAPTION_IS_TOO_LONG: &str = "Bad Request: message caption is too long";
    /// A callback notification over 200 characters (teloxide `EditedMessageIsTooLong`).
    pub const MESSAGE_TOO_LONG: &str = "Bad Request: MESSAGE_TOO_LONG";
    /// Callback data outside 1–64 bytes (teloxide `ButtonDataInvalid`).
    pub const BUTTON_DATA_INVALID: &str = "Bad Request: BUTTON_DATA_INVALID";
    /// A URL button whose URL Telegram would refuse (teloxide `ButtonUrlInvalid`).
    pub const BUTTON_URL_INVALID: &str = "Bad Request: BUTTON_URL_INVALID";
    /// An inline button with no action (teloxide `TextButtonsAreUnallowed`).
    pub const TEXT_BUTTONS_ARE_UNALLOWED: &str =
        "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard";
    /// A `reply_markup` that is not a keyboard object.
    pub const CANT_PARSE_REPLY_MARKUP: &str = "Bad Request: can't parse reply keyboard markup JSON object";
    /// A second answer to, or an unknown, callback query. Spelled as Telegram
    /// sends it ("query ID"); teloxide-core 0.13 expects "query id", so the host
    /// sees `ApiError::Unknown` here exactly as it would in production.
    pub const QUERY_IS_TOO_OLD: &str =
        "Bad Request: query is too old and response timeout expired or query ID is invalid";
    /// An upload over 50 MB (teloxide `RequestEntityTooLarge`).
    pub const REQUEST_ENTITY_TOO_LARGE: &str = "Request Entity Too Large";
    /// An empty upload.
    pub const FILE_MUST_BE_NON_EMPTY: &str = "Bad Request: file must be non-empty";
    /// A `file_id` the fake never issued.
    pub const WRONG_FILE_IDENTIFIER: &str = "Bad Request: wrong file identifier/HTTP URL specified";
    /// A chat the fake cannot resolve, such as `@username`.
    pub const CHAT_NOT_FOUND: &str = "Bad Request: chat not found";
    /// The user blocked the bot (teloxide `BotBlocked`).
    pub const BOT_BLOCKED: &str = "Forbidden: bot was blocked by the user";
    /// An unknown method: a 404, because a 5xx stalls teloxide for 10 s.
    pub const METHOD_NOT_FOUND: &str = "Not Found: method not found";
    /// `deleteMessages` with no ids.
    pub const MESSAGE_IDS_EMPTY: &str = "Bad Request: message identifiers are not specified";
    /// `deleteMessages` with more than 100 ids.
    pub const TOO_MANY_MESSAGE_IDS: &str = "Bad Request: too many message identifiers specified";
    /// A bad command name in `setMyCommands`.
    pub const BOT_COMMAND_INVALID: &str = "Bad Request: BOT_COMMAND_INVALID";
    /// A bad command description in `setMyCommands`.
    pub const BOT_COMMAND_DESCRIPTION_INVALID: &str = "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID";
    /// Editing by `inline_message_id`, which the fake does not model.
    pub const INLINE_MESSAGES_UNSUPPORTED: &str =
        "Bad Request: inline messages are not supported by the fake Bot API";
}

/// An error answer: HTTP status (also `error_code`), description, and the
/// `retry_after` of a 429.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) description: String,
    pub(crate) retry_after: Option<u32>,
}

impl ApiError {
    pub(crate) fn new(status: u16, description: impl Into<String>) -> Self {
        Self { status, description: description.into(), retry_after: None }
    }

    /// A 400 with the given description.
    pub(crate) fn bad_request(description: impl Into<String>) -> Self {
        Self::new(400, description)
    }

    /// A 400 for a required parameter that is missing, worded like Telegram.
    pub(crate) fn missing(param: &str) -> Self {
        Self::bad_request(format!("Bad Request: {param} is empty"))
    }

    /// A 400 for a parameter of the wrong type.
    pub(crate) fn invalid(param: &str) -> Self {
        Self::bad_request(format!("Bad Request: invalid {param} specified"))
    }

    pub(crate) fn retry_after(seconds: u32) -> Self {
        Self {
            status: 429,
            description: format!("Too Many Requests: retry after {seconds}"),
            retry_after: Some(seconds),
        }
    }

    /// An error with the usual Telegram description for a bare status code.
    pub(crate) fn status(status: u16) -> Self {
        let description = match status {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            409 => {
                "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
            }
            413 => descriptions::REQUEST_ENTITY_TOO_LARGE,
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            504 => "Gateway Timeout",
            _ => "Error",
        };
        Self::new(status, description)
    }

    /// The JSON body Telegram would send.
    pub(crate) fn to_json(&self) -> Value {
        let mut body = json!({
            "ok": false,
            "error_code": self.status,
            "description": self.description,
        });
        if let Some(seconds) = self.retry_after {
            body["parameters"] = json!({ "retry_after": seconds });
        }
        body
    }
}

/// Shorthand for a method's outcome.
pub(crate) type ApiResult<T = Value> = Result<T, ApiError>;
