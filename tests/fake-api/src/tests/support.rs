//! Test helpers: a teloxide `Bot` aimed at the fake, and a raw HTTP client
//! for requests teloxide would never send.

use std::fmt::Debug;
use std::str::FromStr;

use serde_json::Value;
use teloxide::Bot;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::FakeBotApi;

/// A teloxide bot talking to `api`.
pub(super) fn bot(api: &FakeBotApi) -> Bot {
    let bot = Bot::new(api.token());
    let url = parse_as(bot.api_url(), &api.url());
    bot.set_api_url(url)
}

/// Parses `text` into the type of `_like`: teloxide wants a `reqwest::Url`
/// and this crate does not depend on reqwest or url just to name it.
fn parse_as<U: FromStr>(_like: U, text: &str) -> U
where
    U::Err: Debug,
{
    text.parse().expect("the fake's URL is a valid URL")
}

/// Sends one HTTP/1.1 request and returns the status and the JSON body.
pub(super) async fn raw(
    api: &FakeBotApi,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(api.addr()).await.expect("connects");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("reads");
    let (head, body) = response.split_once("\r\n\r\n").expect("a full response");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    (status, serde_json::from_str(body).expect("a JSON body"))
}

/// Now in Unix seconds.
pub(super) fn unix_now() -> i64 {
    crate::wire::unix_now()
}
