//! Bot API calls the host makes for plugins: SDK types to teloxide types, a
//! bounded wait on 429 `retry_after`, and "already deleted" treated as done.
//! The update path's calls go out through [`wire`]; uploads through teloxide.

mod keyboard;
pub mod wire;

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::IgnoredAny;
use teloxide::RequestError;
use teloxide::payloads::{
    AnswerCallbackQuery, DeleteMessages, EditMessageText, SendDocumentSetters, SendMessage, SendPhotoSetters,
};
use teloxide::prelude::Requester;
use teloxide::types::{CallbackQueryId, ChatId, InlineKeyboardMarkup, InputFile, MessageId, ReplyMarkup};
use teloxide::{ApiError, Bot};
use vox_plugin::{DocumentSource, HostError, Keyboard, Outgoing};

use crate::metrics::Metrics;
use keyboard::keyboard;
use wire::Method;

/// How many times a call is repeated after a 429.
const MAX_RETRIES: u32 = 3;
/// How many times a call is repeated after it got no answer at all (the
/// connection failed): the user's reply is not lost to one dropped
/// connection. Telegram has no idempotency key for sends, so if it was the
/// answer that got lost (not the request), the user sees the message twice —
/// the lesser harm.
const NETWORK_RETRIES: u32 = 3;
/// The wait before the first network retry; doubled for the next.
const NETWORK_BACKOFF: Duration = Duration::from_millis(100);
/// The longest `retry_after` the host waits out; longer ones fail the call.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
/// Telegram's upload limit for bots.
pub const MAX_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;
/// Telegram's limit on a message's text, in UTF-16 code units (how Telegram
/// counts: an emoji outside the BMP is 2).
pub const MAX_TEXT_CHARS: usize = 4096;
/// Telegram's limit on a caption, in UTF-16 code units.
pub const MAX_CAPTION_CHARS: usize = 1024;
/// deleteMessages takes at most this many ids.
const DELETE_BATCH: usize = 100;

/// The Bot API client and the metrics its calls feed.
#[derive(Clone)]
pub struct Telegram {
    /// The client.
    pub bot: Bot,
    /// Latency and errors by method.
    pub metrics: Arc<Metrics>,
    /// What [`vox_plugin::Button::home`] sends: the home plugin's callback data.
    pub home: Option<&'static str>,
    /// Telegram's flood limits, kept on this side.
    pub throttle: Arc<super::throttle::Throttle>,
    /// The update path's calls, over `bot`'s client.
    pub wire: wire::Wire,
}

/// Repeats `call` while Telegram answers 429, waiting as told (bounded); every
/// attempt's latency and failure is counted under `method`.
pub async fn with_retry<T, Fut>(
    metrics: &Metrics,
    method: &'static str,
    mut call: impl FnMut() -> Fut,
) -> Result<T, RequestError>
where
    Fut: IntoFuture<Output = Result<T, RequestError>>,
{
    let mut attempt = 0;
    let mut network_attempt = 0;
    loop {
        let started = Instant::now();
        // The first call serving an update times the host's share of its
        // reply's latency, from the call's own clock reading (taken once: a
        // retry finds nothing).
        if let Some(arrived) = super::update_scope::take_arrived() {
            metrics.first_call(started.saturating_duration_since(arrived));
        }
        let result = call().into_future().await;
        metrics.api_call(method, started.elapsed(), result.as_ref().err().map(crate::metrics::error_kind));
        let wait = match &result {
            Err(RequestError::Network(e)) if network_attempt < NETWORK_RETRIES => {
                network_attempt += 1;
                no_answer(method, e, network_attempt - 1)
            }
            Err(RequestError::RetryAfter(after))
                if attempt < MAX_RETRIES && after.duration() <= MAX_RETRY_WAIT =>
            {
                attempt += 1;
                slow_down(method, after.seconds(), attempt - 1);
                after.duration()
            }
            _ => return result,
        };
        // Boxed, as the logging is out of line: the common way's future and
        // code stay small.
        Box::pin(tokio::time::sleep(wait)).await;
    }
}

/// One of the update path's calls through [`wire`], with [`with_retry`]'s
/// retries, counted under the method's name; `body` is the serialized
/// payload, the same for every attempt.
async fn call<T: serde::de::DeserializeOwned>(
    tg: &Telegram,
    method: Method,
    body: bytes::Bytes,
) -> Result<T, RequestError> {
    with_retry(&tg.metrics, method.name(), || tg.wire.call::<T>(method, body.clone())).await
}

/// Logs a call that got no answer; the wait before trying again.
#[cold]
#[inline(never)]
fn no_answer(method: &'static str, error: &reqwest::Error, attempt: u32) -> Duration {
    tracing::warn!(method, error = %error, attempt, "no answer from telegram; trying again");
    NETWORK_BACKOFF * 2u32.pow(attempt)
}

/// Logs a 429 that is waited out.
#[cold]
#[inline(never)]
fn slow_down(method: &'static str, retry_after_s: u32, attempt: u32) {
    tracing::warn!(method, retry_after_s, attempt, "telegram asked to slow down");
}

/// What Telegram said, in the kinds a handler can act on.
fn api(e: RequestError) -> HostError {
    use teloxide::ApiError as A;
    let text = e.to_string();
    match e {
        RequestError::RetryAfter(wait) => HostError::RateLimited { retry_after: wait.duration() },
        RequestError::Api(
            A::BotBlocked
            | A::UserDeactivated
            | A::BotKicked
            | A::BotKickedFromSupergroup
            | A::BotKickedFromChannel
            | A::CantInitiateConversation
            | A::ChatNotFound,
        ) => HostError::Blocked(text),
        RequestError::Api(
            A::MessageToDeleteNotFound
            | A::MessageToEditNotFound
            | A::MessageIdInvalid
            | A::MessageCantBeEdited
            | A::MessageCantBeDeleted,
        ) => HostError::MessageGone(text),
        RequestError::Api(A::MessageIsTooLong) => HostError::TooLong(text),
        _ => HostError::Telegram(text),
    }
}

/// One upload with a caption and a keyboard: the same for every kind of file,
/// but teloxide's requests are types of their own, so not one function.
macro_rules! send_file {
    ($tg:expr, $chat:expr, $method:literal, $send:ident, $file:expr, $caption:expr, $kb:expr, $max:expr) => {{
        let (file, caption, markup) = upload($tg, $file, $caption, $kb, $max).await?;
        $tg.throttle.wait($chat.0).await;
        with_retry(&$tg.metrics, $method, || {
            let mut req = $tg.bot.$send($chat, file.clone());
            if let Some(c) = &caption {
                req = req.caption(c.clone());
            }
            if let Some(m) = &markup {
                req = req.reply_markup(m.clone());
            }
            req
        })
        .await
    }};
}

/// Sends a text, a document or a photo; returns the new message id.
///
/// Uploads are boxed where they are awaited: inline, their code and state
/// would sit inside every text's future — more cache lines touched per
/// update, and a bigger future to move — for the rare upload.
pub async fn send(tg: &Telegram, chat: i64, message: Outgoing) -> Result<i32, HostError> {
    let chat = ChatId(chat);
    let sent = match message {
        Outgoing::Text { text, keyboard: kb } => {
            check_len("text", &text, MAX_TEXT_CHARS)?;
            let markup = kb.map(|kb| keyboard(kb, tg.home)).transpose()?;
            let mut payload = SendMessage::new(chat, text);
            payload.reply_markup = markup.map(ReplyMarkup::InlineKeyboard);
            let body = wire::body(&payload);
            tg.throttle.wait(chat.0).await;
            let sent: wire::Sent = call(tg, Method::SendMessage, body).await.map_err(api)?;
            return Ok(sent.message_id);
        }
        Outgoing::Document { document, caption, keyboard: kb } => {
            Box::pin(send_upload(tg, chat, Upload::Document, document, caption, kb)).await?
        }
        Outgoing::Photo { photo, caption, keyboard: kb } => {
            Box::pin(send_upload(tg, chat, Upload::Photo, photo, caption, kb)).await?
        }
    };
    Ok(sent.map_err(api)?.id.0)
}

/// What [`send`] uploads.
#[derive(Clone, Copy)]
enum Upload {
    Document,
    Photo,
}

/// [`send`] of a file: the upload's result, or the refusal of what Telegram
/// would refuse.
async fn send_upload(
    tg: &Telegram,
    chat: ChatId,
    kind: Upload,
    file: vox_plugin::Document,
    caption: Option<String>,
    kb: Option<Keyboard>,
) -> Result<Result<teloxide::types::Message, RequestError>, HostError> {
    Ok(match kind {
        Upload::Document => {
            send_file!(tg, chat, "sendDocument", send_document, file, caption, kb, MAX_UPLOAD_BYTES)
        }
        Upload::Photo => send_file!(tg, chat, "sendPhoto", send_photo, file, caption, kb, MAX_PHOTO_BYTES),
    })
}

/// Telegram's limit for a photo upload.
const MAX_PHOTO_BYTES: u64 = 10 * 1024 * 1024;

/// A file to upload (read if it is a path) with its checked caption and keyboard.
async fn upload(
    tg: &Telegram,
    document: vox_plugin::Document,
    caption: Option<String>,
    kb: Option<Keyboard>,
    max: u64,
) -> Result<(InputFile, Option<String>, Option<InlineKeyboardMarkup>), HostError> {
    if let Some(c) = &caption {
        check_len("caption", c, MAX_CAPTION_CHARS)?;
    }
    let markup = kb.map(|kb| keyboard(kb, tg.home)).transpose()?;
    let bytes = match document.source {
        DocumentSource::Bytes(b) => b,
        DocumentSource::Path(path) => read_upload(&path).await?,
    };
    if bytes.len() as u64 > max {
        return Err(HostError::TooLong(format!(
            "file `{}` is {} bytes; Telegram takes at most {max}",
            document.file_name,
            bytes.len()
        )));
    }
    Ok((InputFile::memory(bytes).file_name(document.file_name), caption, markup))
}

/// Refuses what Telegram would refuse, before a round trip, with a clearer message.
fn check_len(what: &str, text: &str, max: usize) -> Result<(), HostError> {
    let units = text.encode_utf16().count();
    if units == 0 {
        return Err(HostError::Telegram(format!("message {what} must not be empty")));
    }
    if units > max {
        return Err(HostError::TooLong(format!(
            "message {what} must be 1-{max} UTF-16 code units (as Telegram counts), not {units}"
        )));
    }
    Ok(())
}

async fn read_upload(path: &std::path::Path) -> Result<Vec<u8>, HostError> {
    let len = tokio::fs::metadata(path).await?.len();
    if len > MAX_UPLOAD_BYTES {
        return Err(HostError::TooLong(format!(
            "file `{}` is {len} bytes; Telegram takes at most {MAX_UPLOAD_BYTES}",
            path.display()
        )));
    }
    Ok(tokio::fs::read(path).await?)
}

/// Edits a message's text and keyboard; "not modified" counts as done.
pub async fn edit_text(
    tg: &Telegram,
    chat: i64,
    id: i32,
    text: String,
    kb: Option<Keyboard>,
) -> Result<(), HostError> {
    let mut payload = EditMessageText::new(ChatId(chat), MessageId(id), text);
    payload.reply_markup = kb.map(|kb| keyboard(kb, tg.home)).transpose()?;
    let body = wire::body(&payload);
    tg.throttle.wait(chat).await;
    let res = call::<IgnoredAny>(tg, Method::EditMessageText, body).await;
    match res {
        Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
        Err(e) => Err(api(e)),
    }
}

/// Deletes messages in batches of 100; ones already gone are not an error.
pub async fn delete(tg: &Telegram, chat: i64, ids: &[i32]) -> Result<(), HostError> {
    for batch in ids.chunks(DELETE_BATCH) {
        let body = wire::body(&DeleteMessages::new(ChatId(chat), batch.iter().map(|&i| MessageId(i))));
        let res = call::<IgnoredAny>(tg, Method::DeleteMessages, body).await;
        match res {
            Ok(_)
            | Err(RequestError::Api(ApiError::MessageToDeleteNotFound | ApiError::MessageIdInvalid)) => {}
            Err(e) => return Err(api(e)),
        }
    }
    Ok(())
}

/// Answers a callback query with an optional toast or alert.
pub async fn answer(tg: &Telegram, query_id: &str, text: Option<&str>, alert: bool) -> Result<(), HostError> {
    let mut payload = AnswerCallbackQuery::new(CallbackQueryId(query_id.to_owned()));
    payload.text = text.map(str::to_owned);
    payload.show_alert = alert.then_some(true);
    let body = wire::body(&payload);
    call::<IgnoredAny>(tg, Method::AnswerCallbackQuery, body).await.map(|_| ()).map_err(api)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegrams_errors_reach_handlers_as_kinds_they_can_act_on() {
        use teloxide::ApiError;
        use teloxide::types::Seconds;
        let kind = |e: RequestError| api(e);
        assert!(matches!(kind(RequestError::Api(ApiError::BotBlocked)), HostError::Blocked(_)));
        assert!(matches!(kind(RequestError::Api(ApiError::UserDeactivated)), HostError::Blocked(_)));
        assert!(matches!(
            kind(RequestError::Api(ApiError::MessageToDeleteNotFound)),
            HostError::MessageGone(_)
        ));
        assert!(matches!(
            kind(RequestError::Api(ApiError::MessageToEditNotFound)),
            HostError::MessageGone(_)
        ));
        assert!(matches!(kind(RequestError::Api(ApiError::MessageIsTooLong)), HostError::TooLong(_)));
        assert!(matches!(
            kind(RequestError::RetryAfter(Seconds::from_seconds(42))),
            HostError::RateLimited { retry_after } if retry_after == Duration::from_secs(42)
        ));
        assert!(matches!(kind(RequestError::Api(ApiError::MessageNotModified)), HostError::Telegram(_)));
        assert!(matches!(check_len("text", &"я".repeat(4097), MAX_TEXT_CHARS), Err(HostError::TooLong(_))));
    }

    #[test]
    fn texts_over_telegrams_limits_are_refused() {
        assert!(check_len("text", &"я".repeat(4096), MAX_TEXT_CHARS).is_ok());
        assert!(check_len("text", &"я".repeat(4097), MAX_TEXT_CHARS).is_err());
        assert!(check_len("text", "", MAX_TEXT_CHARS).is_err());
        // Telegram counts UTF-16 code units: an emoji outside the BMP is two.
        assert!(check_len("text", &"😀".repeat(2048), MAX_TEXT_CHARS).is_ok());
        assert!(check_len("text", &"😀".repeat(2049), MAX_TEXT_CHARS).is_err());
        assert!(check_len("caption", &"😀".repeat(513), MAX_CAPTION_CHARS).is_err());
    }
}
