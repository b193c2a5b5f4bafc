//! Text, caption and keyboard validation shared by the send and edit methods,
//! with Telegram's limits (text 1–4096, caption up to 1024), counted as
//! Telegram counts them: in UTF-16 code units (an emoji outside the BMP is 2).

use crate::error::{ApiError, ApiResult, descriptions};
use crate::html;
use crate::keyboard::{self, Markup};
use crate::request::Params;

/// The longest message text, in UTF-16 code units after entity parsing.
pub(super) const MAX_TEXT: usize = 4096;
/// The longest caption, in UTF-16 code units after entity parsing.
pub(super) const MAX_CAPTION: usize = 1024;

/// What the user sees of `raw` under `parse_mode`. Only HTML is parsed;
/// other modes are kept verbatim (the fake does not check MarkdownV2).
fn visible(raw: &str, parse_mode: Option<&str>) -> ApiResult<String> {
    match parse_mode {
        Some(mode) if mode.eq_ignore_ascii_case("html") => html::render(raw).map_err(ApiError::bad_request),
        _ => Ok(raw.to_owned()),
    }
}

/// The required `text` of a message, as (visible text, parse_mode).
pub(super) fn text(params: &Params) -> ApiResult<(String, Option<String>)> {
    let parse_mode = params.opt_str("parse_mode")?;
    let raw = params.opt_str("text")?.unwrap_or_default();
    let text = visible(&raw, parse_mode.as_deref())?;
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(descriptions::MESSAGE_TEXT_IS_EMPTY));
    }
    if text.encode_utf16().count() > MAX_TEXT {
        return Err(ApiError::bad_request(descriptions::MESSAGE_IS_TOO_LONG));
    }
    Ok((text, parse_mode))
}

/// The optional `caption`, as (visible caption, parse_mode).
pub(super) fn caption(params: &Params) -> ApiResult<(Option<String>, Option<String>)> {
    let parse_mode = params.opt_str("parse_mode")?;
    let Some(raw) = params.opt_str("caption")? else {
        return Ok((None, parse_mode));
    };
    let caption = visible(&raw, parse_mode.as_deref())?;
    if caption.encode_utf16().count() > MAX_CAPTION {
        return Err(ApiError::bad_request(descriptions::MESSAGE_CAPTION_IS_TOO_LONG));
    }
    Ok(((!caption.is_empty()).then_some(caption), parse_mode))
}

/// The optional `reply_markup`.
pub(super) fn markup(params: &Params) -> ApiResult<Option<Markup>> {
    let value = params
        .json("reply_markup")
        .map_err(|_| ApiError::bad_request(descriptions::CANT_PARSE_REPLY_MARKUP))?;
    value.as_ref().map(keyboard::parse).transpose()
}

/// The optional `reply_markup` of an edit, which can only be inline.
pub(super) fn inline_markup(params: &Params) -> ApiResult<Vec<Vec<crate::types::Button>>> {
    match markup(params)? {
        None => Ok(Vec::new()),
        Some(Markup::Inline(rows)) => Ok(rows),
        Some(_) => Err(ApiError::bad_request(descriptions::CANT_PARSE_REPLY_MARKUP)),
    }
}
