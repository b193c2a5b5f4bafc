//! `/_control/` routes that let another process drive the fake, so a bot can be
//! benchmarked with the fake in a process of its own and its CPU time read apart.
//! Served only by [`crate::FakeBotApi::start_with_control`].
//!
//! - `POST /_control/push_text?users=50&count=2000&text=/echo` queues `count`
//!   messages round-robin from `users` private chats (user ids from 1001, or
//!   from `first_user=N`, so successive pushes can bring new users). With
//!   `callback_data=echo:1`, every second update is instead a press of an
//!   inline button with that data (on the chat's first message), as the aiogram
//!   peer's reference shape has it: half texts, half callback queries.
//! - `GET /_control/count?method=sendMessage` — calls of that method so far.
//! - `GET /_control/counts` — the same for every method called.
//! - `GET /_control/wait?method=sendMessage&ok=N&timeout_secs=60` answers once
//!   `N` calls of the method were answered ok (504 at the timeout).

use std::sync::Arc;
use std::time::Duration;

use axum::{
    Json, Router,
    extract::{Query, State},
    http::StatusCode,
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::shared::Shared;
use crate::types::TgUser;
use crate::world::MethodCount;

/// The first user's id; ids run up from here so they read as users, not bots.
const FIRST_USER: i64 = 1001;
/// Updates queued per hold of the world's lock: one lock for a whole batch
/// would stall the bot's `getUpdates` until every message is built.
const PUSH_CHUNK: usize = 100;
/// The largest batch one request may queue, so a typo cannot eat the memory.
const MAX_PUSH: usize = 1_000_000;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_control/push_text", post(push_text))
        .route("/_control/count", get(count))
        .route("/_control/counts", get(counts))
        .route("/_control/wait", get(wait))
}

#[derive(Deserialize)]
struct PushText {
    users: usize,
    count: usize,
    text: String,
    #[serde(default = "first_user")]
    first_user: i64,
    /// When set, the odd-numbered updates are button presses with this data.
    callback_data: Option<String>,
}

fn first_user() -> i64 {
    FIRST_USER
}

async fn push_text(
    State(shared): State<Arc<Shared>>,
    Query(push): Query<PushText>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    if push.users == 0 || push.count > MAX_PUSH || push.users > MAX_PUSH || push.first_user < 1 {
        let error = format!("need 1 <= users <= {MAX_PUSH}, count <= {MAX_PUSH}, first_user >= 1");
        return Err((StatusCode::BAD_REQUEST, Json(json!({ "error": error }))));
    }
    let users: Vec<TgUser> =
        (push.first_user..).take(push.users).map(|id| TgUser::new(id, "Bench")).collect();
    let mut queued = 0;
    while queued < push.count {
        let end = (queued + PUSH_CHUNK).min(push.count);
        {
            let mut world = shared.world();
            for i in queued..end {
                let user = &users[i % users.len()];
                match &push.callback_data {
                    Some(data) if i % 2 == 1 => {
                        world.push_callback(user.id, user, 1, data);
                    }
                    _ => {
                        world.push_text(user.id, user, &push.text);
                    }
                }
            }
        }
        queued = end;
        shared.updates_queued();
        // Let the server answer the polls the chunk just woke.
        tokio::task::yield_now().await;
    }
    let pending = shared.world().pending_updates();
    Ok(Json(json!({ "queued": queued, "pending": pending })))
}

#[derive(Deserialize)]
struct Method {
    method: String,
}

fn count_json(count: MethodCount) -> Value {
    json!({ "calls": count.calls, "ok": count.ok })
}

async fn count(State(shared): State<Arc<Shared>>, Query(query): Query<Method>) -> Json<Value> {
    let count = shared.world().call_count(&query.method);
    Json(count_json(count))
}

async fn counts(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let world = shared.world();
    let all: Map<String, Value> =
        world.call_counts().map(|(method, count)| (method.to_owned(), count_json(count))).collect();
    Json(Value::Object(all))
}

#[derive(Deserialize)]
struct Wait {
    method: String,
    ok: u64,
    #[serde(default = "default_wait_secs")]
    timeout_secs: u64,
}

fn default_wait_secs() -> u64 {
    60
}

/// Sleeps on the fake's call notifications instead of making the driver poll:
/// a poll loop over HTTP would cost the fake more than one look per call.
async fn wait(State(shared): State<Arc<Shared>>, Query(wait): Query<Wait>) -> (StatusCode, Json<Value>) {
    let timeout = Duration::from_secs(wait.timeout_secs);
    let reached = shared
        .wait_call(timeout, |world| {
            let count = world.call_count(&wait.method);
            (count.ok >= wait.ok).then_some(count)
        })
        .await;
    match reached {
        Some(count) => (StatusCode::OK, Json(count_json(count))),
        None => {
            let count = shared.world().call_count(&wait.method);
            (StatusCode::GATEWAY_TIMEOUT, Json(count_json(count)))
        }
    }
}
