//! The Bot API calls the update path makes (getUpdates, sendMessage,
//! editMessageText, deleteMessages, answerCallbackQuery), sent and read by
//! the host itself over teloxide's own HTTP client.
//!
//! teloxide reads every answer through an untagged envelope — the whole
//! answer buffered into a tree, then tried as each shape — and into a full
//! `Message`, itself a cascade of untagged enums that builds and drops a
//! formatted error for each shape it is not. Where the host needs a message
//! id or nothing, that was about half of a bare teloxide bot's instructions
//! per update. Here the envelope is read in one pass and the result only for
//! what the caller asks (`Sent`, or [`serde::de::IgnoredAny`]); the method
//! URLs are built once. Requests are teloxide's payload types, serialized as
//! teloxide does, and failures are teloxide's [`RequestError`]s, made as it
//! makes them — so retries and error kinds are unchanged.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use teloxide::types::ResponseParameters;
use teloxide::{ApiError, Bot, RequestError};

/// The Bot API methods sent this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `getUpdates`.
    GetUpdates,
    /// `sendMessage`.
    SendMessage,
    /// `editMessageText`.
    EditMessageText,
    /// `deleteMessages`.
    DeleteMessages,
    /// `answerCallbackQuery`.
    AnswerCallbackQuery,
}

impl Method {
    const ALL: [Method; 5] = [
        Method::GetUpdates,
        Method::SendMessage,
        Method::EditMessageText,
        Method::DeleteMessages,
        Method::AnswerCallbackQuery,
    ];

    /// The method's name, as Telegram and the metrics spell it.
    pub fn name(self) -> &'static str {
        match self {
            Method::GetUpdates => "getUpdates",
            Method::SendMessage => "sendMessage",
            Method::EditMessageText => "editMessageText",
            Method::DeleteMessages => "deleteMessages",
            Method::AnswerCallbackQuery => "answerCallbackQuery",
        }
    }
}

/// teloxide's wait before reading a 5xx answer (`DELAY_ON_SERVER_ERROR`):
/// a struggling server is not asked again at once.
const DELAY_ON_SERVER_ERROR: Duration = Duration::from_secs(10);

/// The client and each method's URL.
#[derive(Clone)]
pub struct Wire {
    client: reqwest::Client,
    urls: Arc<[reqwest::Url; 5]>,
}

impl std::fmt::Debug for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URLs hold the token.
        f.debug_struct("Wire").finish_non_exhaustive()
    }
}

/// What a send answers that the host reads: the new message's id.
#[derive(Debug, Deserialize)]
pub struct Sent {
    /// The message's id in its chat.
    pub message_id: i32,
}

impl Wire {
    /// The calls of `bot`: its client, API URL and token.
    pub fn new(bot: &Bot) -> Self {
        let urls = Method::ALL.map(|m| method_url(bot.api_url(), bot.token(), m.name()));
        Self { client: bot.client().clone(), urls: Arc::new(urls) }
    }

    /// Posts `body` (a payload serialized as JSON) to `method` and reads the
    /// answer's result as `T`.
    pub async fn call<T: DeserializeOwned>(&self, method: Method, body: Bytes) -> Result<T, RequestError> {
        self.call_within(method, body, None).await
    }

    /// [`Wire::call`] with its own time limit instead of the client's (a long
    /// poll outlasts the client's 17 s).
    pub async fn call_within<T: DeserializeOwned>(
        &self,
        method: Method,
        body: Bytes,
        limit: Option<Duration>,
    ) -> Result<T, RequestError> {
        let url = self.urls[method as usize].clone();
        let mut request = self
            .client
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body);
        if let Some(limit) = limit {
            request = request.timeout(limit);
        }
        let response = request.send().await?;
        if response.status().is_server_error() {
            // Rare; boxed so the common way's future does not hold a timer.
            Box::pin(tokio::time::sleep(DELAY_ON_SERVER_ERROR)).await;
        }
        read_answer(&response.text().await?)
    }
}

/// Serializes a request's payload as teloxide sends it.
pub fn body(payload: &impl serde::Serialize) -> Bytes {
    // Serializing these payloads (strings, numbers, Telegram's own types) cannot fail.
    Bytes::from(serde_json::to_vec(payload).unwrap_or_default())
}

/// `https://api.telegram.org/bot<token>/<method>`, as teloxide builds it.
fn method_url(mut url: reqwest::Url, token: &str, method: &str) -> reqwest::Url {
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.push(&format!("bot{token}"));
        segments.push(method);
    }
    url
}

/// Telegram's answer: `{"ok":true,"result":…}` or `{"ok":false,"description":…,"parameters":…}`.
#[derive(Deserialize)]
struct Answer<T> {
    ok: bool,
    result: Option<T>,
    description: Option<ApiError>,
    parameters: Option<ResponseParameters>,
}

/// The answer's result, or the error teloxide would make of it.
fn read_answer<T: DeserializeOwned>(text: &str) -> Result<T, RequestError> {
    let invalid =
        |source: serde_json::Error| RequestError::InvalidJson { source: Arc::new(source), raw: text.into() };
    let answer: Answer<T> = serde_json::from_str(text).map_err(invalid)?;
    match answer {
        Answer { ok: true, result: Some(result), .. } => Ok(result),
        Answer { ok: false, parameters: Some(ResponseParameters::RetryAfter(after)), .. } => {
            Err(RequestError::RetryAfter(after))
        }
        Answer { ok: false, parameters: Some(ResponseParameters::MigrateToChatId(to)), .. } => {
            Err(RequestError::MigrateToChatId(to))
        }
        Answer { ok: false, description: Some(error), .. } => Err(RequestError::Api(error)),
        _ => Err(invalid(serde::de::Error::custom("neither a result nor an error description"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::IgnoredAny;

    #[test]
    fn a_result_is_read_for_what_the_caller_asks() {
        let sent: Sent = read_answer(
            r#"{"ok":true,"result":{"message_id":42,"date":0,"chat":{"id":7,"type":"private"},"text":"hi"}}"#,
        )
        .expect("a message");
        assert_eq!(sent.message_id, 42);
        let _: IgnoredAny = read_answer(r#"{"ok":true,"result":true}"#).expect("true");
    }

    #[test]
    fn errors_are_the_ones_teloxide_makes() {
        let err = read_answer::<IgnoredAny>(
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}}"#,
        )
        .expect_err("429");
        assert!(matches!(err, RequestError::RetryAfter(s) if s.seconds() == 5), "{err:?}");
        let err = read_answer::<IgnoredAny>(
            r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#,
        )
        .expect_err("403");
        assert!(matches!(err, RequestError::Api(ApiError::BotBlocked)), "{err:?}");
        let err = read_answer::<IgnoredAny>(
            r#"{"ok":false,"error_code":400,"description":"Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"}"#,
        )
        .expect_err("400");
        assert!(matches!(err, RequestError::Api(ApiError::MessageNotModified)), "{err:?}");
        let err = read_answer::<IgnoredAny>(
            r#"{"ok":false,"error_code":400,"description":"Bad Request: something new"}"#,
        )
        .expect_err("unknown");
        assert!(
            matches!(&err, RequestError::Api(ApiError::Unknown(s)) if s.contains("something new")),
            "{err:?}"
        );
        for bad in ["<html>502</html>", r#"{"ok":true}"#, r#"{"ok":false}"#] {
            let err = read_answer::<IgnoredAny>(bad).expect_err(bad);
            assert!(matches!(&err, RequestError::InvalidJson { raw, .. } if &**raw == bad), "{err:?}");
        }
    }

    #[test]
    fn method_urls_are_the_ones_teloxide_calls() {
        let url = method_url("https://api.telegram.org".parse().expect("url"), "1:abc", "sendMessage");
        assert_eq!(url.as_str(), "https://api.telegram.org/bot1:abc/sendMessage");
        let url = method_url("http://127.0.0.1:8081/tg".parse().expect("url"), "1:abc", "getMe");
        assert_eq!(url.as_str(), "http://127.0.0.1:8081/tg/bot1:abc/getMe");
    }
}
