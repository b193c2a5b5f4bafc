//! An in-process fake Telegram Bot API server for end-to-end tests and the
//! sandbox, plus a scripted user that drives a bot through it.
//!
//! # Layout
//! - `api.rs` — [`FakeBotApi`]: start, push updates, inject faults, read back.
//! - `user.rs` — [`ScriptedUser`]: send, press, `expect_*` with transcripts.
//! - `types.rs` — the public value types ([`BotMessage`], [`Call`], ...).
//! - `faults.rs` — [`Fault`] and the queue that hands faults to calls.
//! - `error.rs` — Telegram-style error answers and their [`descriptions`].
//! - `server.rs` — the axum handler: decode, fault, run, answer, record.
//! - `conn.rs` — the killable connections behind [`Fault::Drop`].
//! - `control.rs` — `/_control/` routes to drive the fake from another process.
//! - `request.rs` — JSON / multipart / query decoding into typed parameters.
//! - `methods/` — one file per group of Bot API methods.
//! - `chat.rs` — a chat's messages, edits, deletions and events.
//! - `world.rs` — the recorded state: chats, pending updates, queries, the call log.
//! - `shared.rs` — the world's lock and the wake-ups around it.
//! - `wire.rs` — the JSON shapes teloxide parses (User, Chat, Message, Update).
//! - `keyboard.rs`, `html.rs` — `reply_markup` and `parse_mode: HTML` rules.
//! - `transcript.rs` — the readable dump of a chat.
//!
//! # Example
//! ```ignore
//! let api = FakeBotApi::start().await?;
//! let bot = teloxide::Bot::new(api.token()).set_api_url(api.url().parse()?);
//! // ... run the host with `bot` ...
//! let mut alice = api.user(42, "Alice");
//! alice.send_text("/start");
//! alice.expect_text("Привет").await;
//! alice.press("Мои отчеты");
//! alice.expect_callback_answered().await;
//! let list = alice.expect_document().await;
//! assert_eq!(list.file_name, "reports.txt");
//! ```

mod api;
mod chat;
mod conn;
mod control;
mod error;
mod faults;
mod html;
mod keyboard;
mod limits;
mod methods;
mod request;
mod server;
mod shared;
mod transcript;
mod types;
mod user;
mod webhook;
mod wire;
mod world;

pub use api::FakeBotApi;
pub use error::descriptions;
pub use faults::{Chaos, Fault};
pub use types::{
    BotMessage, Button, Call, CallbackAnswer, Command, Document, MessageVersion, TgUser, UserMessage,
};
pub use user::{DEFAULT_WAIT, ReceivedDocument, ScriptedUser};
pub use webhook::{Delivery, Webhook};

#[cfg(test)]
mod tests;
