//! `deleteMessage` and `deleteMessages`.

use serde_json::Value;

use crate::error::{ApiError, ApiResult, descriptions};
use crate::request::Params;
use crate::world::World;

/// Telegram's cap on ids per `deleteMessages` call.
const MAX_IDS: usize = 100;

pub(super) fn delete_message(world: &mut World, params: &Params) -> ApiResult<Value> {
    let chat = params.chat_id()?;
    let id = params.message_id()?;
    world.delete(chat, id)?;
    Ok(Value::Bool(true))
}

/// Deletes what it can and skips the rest, as Telegram does.
pub(super) fn delete_messages(world: &mut World, params: &Params) -> ApiResult<Value> {
    let chat = params.chat_id()?;
    let ids = params.i32_list("message_ids")?.unwrap_or_default();
    if ids.is_empty() {
        return Err(ApiError::bad_request(descriptions::MESSAGE_IDS_EMPTY));
    }
    if ids.len() > MAX_IDS {
        return Err(ApiError::bad_request(descriptions::TOO_MANY_MESSAGE_IDS));
    }
    for id in ids {
        // A missing or already deleted message is skipped, not an error.
        let _ = world.delete(chat, id);
    }
    Ok(Value::Bool(true))
}
