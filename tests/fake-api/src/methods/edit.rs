//! `editMessageText`, `editMessageCaption` and `editMessageReplyMarkup`.
//!
//! Like Telegram, an edit without `reply_markup` removes the inline keyboard,
//! and an edit that changes nothing is a 400 "message is not modified".

use serde_json::Value;

use super::content;
use crate::error::{ApiError, ApiResult, descriptions};
use crate::request::Params;
use crate::world::{Content, World};

/// The (chat, message) an edit targets; inline messages are not modelled.
fn target(params: &Params) -> ApiResult<(i64, i32)> {
    if params.has("inline_message_id") {
        return Err(ApiError::bad_request(descriptions::INLINE_MESSAGES_UNSUPPORTED));
    }
    Ok((params.chat_id()?, params.message_id()?))
}

pub(super) fn edit_message_text(world: &mut World, params: &Params) -> ApiResult<Value> {
    let (chat, id) = target(params)?;
    let (text, parse_mode) = content::text(params)?;
    let keyboard = content::inline_markup(params)?;
    world.edit(chat, id, |current| {
        if current.text.is_none() {
            return Err(ApiError::bad_request(descriptions::NO_TEXT_TO_EDIT));
        }
        Ok(Content { text: Some(text), caption: None, parse_mode, keyboard })
    })
}

pub(super) fn edit_message_caption(world: &mut World, params: &Params) -> ApiResult<Value> {
    let (chat, id) = target(params)?;
    let (caption, parse_mode) = content::caption(params)?;
    let keyboard = content::inline_markup(params)?;
    world.edit(chat, id, |current| {
        if current.text.is_some() {
            return Err(ApiError::bad_request("Bad Request: there is no caption in the message to edit"));
        }
        Ok(Content { text: None, caption, parse_mode, keyboard })
    })
}

pub(super) fn edit_message_reply_markup(world: &mut World, params: &Params) -> ApiResult<Value> {
    let (chat, id) = target(params)?;
    let keyboard = content::inline_markup(params)?;
    world.edit(chat, id, |current| Ok(Content { keyboard, ..current.clone() }))
}
