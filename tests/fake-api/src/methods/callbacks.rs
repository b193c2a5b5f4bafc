//! `answerCallbackQuery`: each query can be answered once.

use serde_json::Value;

use crate::error::{ApiError, ApiResult, descriptions};
use crate::request::Params;
use crate::types::CallbackAnswer;
use crate::world::World;

/// The longest notification text Telegram shows, in characters.
const MAX_ANSWER_TEXT: usize = 200;

pub(super) fn answer_callback_query(world: &mut World, params: &Params) -> ApiResult<Value> {
    let query = params.opt_str("callback_query_id")?.ok_or_else(|| ApiError::missing("callback_query_id"))?;
    let text = params.opt_str("text")?.filter(|t| !t.is_empty());
    if text.as_deref().is_some_and(|t| t.chars().count() > MAX_ANSWER_TEXT) {
        return Err(ApiError::bad_request(descriptions::MESSAGE_TOO_LONG));
    }
    let answer = CallbackAnswer {
        text,
        show_alert: params.opt_bool("show_alert")?.unwrap_or(false),
        url: params.opt_str("url")?,
    };
    world.answer(&query, answer)?;
    Ok(Value::Bool(true))
}
