//! `sendMessage`, `sendDocument`, `sendPhoto` and `sendChatAction`: new bot messages.

use serde_json::Value;

use super::content;
use crate::error::{ApiError, ApiResult, descriptions};
use crate::keyboard::Markup;
use crate::request::{MAX_UPLOAD, Params};
use crate::world::{Content, Outgoing, World};

/// `Some` when the markup sets or (with an empty list) removes the reply keyboard.
fn reply_keyboard(markup: Option<&Markup>) -> Option<Vec<Vec<String>>> {
    match markup? {
        Markup::Reply(rows) => Some(rows.clone()),
        Markup::RemoveReply => Some(Vec::new()),
        Markup::Inline(_) | Markup::ForceReply => None,
    }
}

pub(super) fn send_message(world: &mut World, params: &Params) -> ApiResult<Value> {
    let chat = params.chat_id()?;
    let (text, parse_mode) = content::text(params)?;
    let markup = content::markup(params)?;
    world.send(
        chat,
        Outgoing {
            content: Content {
                text: Some(text),
                caption: None,
                parse_mode,
                keyboard: markup.as_ref().map(Markup::inline).unwrap_or_default(),
            },
            document: None,
            photo: false,
            reply_keyboard: reply_keyboard(markup.as_ref()),
        },
    )
}

pub(super) fn send_document(world: &mut World, params: &Params) -> ApiResult<Value> {
    send_file(world, params, "document", MAX_UPLOAD)
}

/// Telegram's limit for an uploaded photo.
const MAX_PHOTO: usize = 10 * 1024 * 1024;

pub(super) fn send_photo(world: &mut World, params: &Params) -> ApiResult<Value> {
    send_file(world, params, "photo", MAX_PHOTO)
}

/// A document or a photo (`field` names the upload), up to `max` bytes.
fn send_file(world: &mut World, params: &Params, field: &str, max: usize) -> ApiResult<Value> {
    let chat = params.chat_id()?;
    let (caption, parse_mode) = content::caption(params)?;
    let markup = content::markup(params)?;
    let file = if let Some(upload) = params.upload(field) {
        if upload.bytes.is_empty() {
            return Err(ApiError::bad_request(descriptions::FILE_MUST_BE_NON_EMPTY));
        }
        if upload.bytes.len() > max {
            return Err(ApiError::new(413, descriptions::REQUEST_ENTITY_TOO_LARGE));
        }
        let name = if upload.file_name.is_empty() { field.to_owned() } else { upload.file_name.clone() };
        world.store_upload(name, upload.mime_type.clone(), upload.bytes.clone())
    } else if let Some(file_id) = params.opt_str(field)? {
        // Re-sending by file_id works for files this fake issued; a URL
        // would need a download the fake cannot do.
        world.file(&file_id).ok_or_else(|| ApiError::bad_request(descriptions::WRONG_FILE_IDENTIFIER))?
    } else {
        return Err(ApiError::bad_request(format!("Bad Request: there is no {field} in the request")));
    };
    world.send(
        chat,
        Outgoing {
            content: Content {
                text: None,
                caption,
                parse_mode,
                keyboard: markup.as_ref().map(Markup::inline).unwrap_or_default(),
            },
            document: Some(file),
            photo: field == "photo",
            reply_keyboard: reply_keyboard(markup.as_ref()),
        },
    )
}

pub(super) fn send_chat_action(world: &mut World, params: &Params) -> ApiResult<Value> {
    let chat = params.chat_id()?;
    world.check_not_blocked(chat)?;
    if params.opt_str("action")?.is_none() {
        return Err(ApiError::missing("action"));
    }
    Ok(Value::Bool(true))
}
