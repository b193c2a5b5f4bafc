//! The axum side: one handler for every `/bot<token>/<Method>` request that
//! decodes it, applies faults, runs the method, answers and records the call.

use std::sync::Arc;
use std::time::Instant;

use axum::{
    Router,
    extract::{ConnectInfo, DefaultBodyLimit, Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::conn::ConnKill;
use crate::control;
use crate::error::{ApiError, ApiResult, descriptions};
use crate::faults::Fault;
use crate::methods;
use crate::request::{MAX_BODY, Params, as_i64};
use crate::shared::Shared;
use crate::types::Call;

/// The whole API as one fallback handler: Bot API paths carry the token in
/// the first segment, which axum's router cannot match as a prefix. With
/// `control`, the `/_control/` routes are served beside it.
pub(crate) fn router(shared: Arc<Shared>, control: bool) -> Router {
    let routes = if control { control::routes() } else { Router::new() };
    routes.fallback(handle).layer(DefaultBodyLimit::max(MAX_BODY)).with_state(shared)
}

/// `/bot<token>/<method>` split into token and method.
fn split_path(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/bot")?;
    let (token, method) = rest.split_once('/')?;
    let method = method.trim_end_matches('/');
    if method.is_empty() || method.contains('/') {
        return None;
    }
    Some((token.to_owned(), method.to_owned()))
}

fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // `to_vec`, not `to_string`: `Display` writes through a formatter, piece by piece.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnKill>,
    req: Request,
) -> Response {
    let at = Instant::now();
    let Some((token, sent_name)) = split_path(req.uri().path()) else {
        // Telegram's answer to a path that is not a method at all; teloxide
        // reads it as an invalid token.
        return json_response(404, &ApiError::new(404, "Not Found").to_json());
    };
    let canonical = methods::canonical(&sent_name);
    let method = canonical.map_or_else(|| sent_name.clone(), str::to_owned);
    let decoded = Params::decode(req).await;

    let fault = {
        let mut world = shared.world();
        let chat = decoded.as_ref().ok().and_then(|p| p.raw("chat_id")).and_then(as_i64);
        if world.unreachable {
            Some(Fault::Drop)
        } else if let Some(fault) = world.faults.take(&method) {
            Some(fault)
        } else if let Some(fault) = world.chaos.as_mut().and_then(|c| c.roll(&method)) {
            Some(fault)
        } else {
            let admitted = world.limits.as_mut().map_or(Ok(()), |l| l.admit(&method, chat, Instant::now()));
            admitted.err().map(Fault::RetryAfter)
        }
    };
    let mut lose_response = false;
    let outcome: ApiResult = match fault {
        Some(Fault::Drop) => {
            conn.kill();
            let call = Call {
                seq: 0,
                method,
                token,
                params: recorded(decoded),
                status: 0,
                description: Some("connection dropped by a fault".to_owned()),
                response: None,
                at,
            };
            record(&shared, call);
            // Never sent: the killed connection fails before writing it.
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Some(Fault::RetryAfter(seconds)) => Err(ApiError::retry_after(seconds)),
        Some(Fault::Status(status)) => Err(ApiError::status(status)),
        Some(Fault::Api { status, description }) => Err(ApiError::new(status, description)),
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            run(&shared, canonical, &decoded).await
        }
        Some(Fault::LoseResponse) => {
            lose_response = true;
            run(&shared, canonical, &decoded).await
        }
        None => run(&shared, canonical, &decoded).await,
    };

    let (status, body, description) = match outcome {
        Ok(result) => (200, crate::wire::object([("ok", true.into()), ("result", result)]), None),
        Err(err) => (err.status, err.to_json(), Some(err.description)),
    };
    tracing::debug!(%method, status, ?description, "fake Bot API call");
    // Shared by the answer and the log: a getUpdates body holds up to 100
    // updates, too many to copy once more per poll for the log.
    let body = Arc::new(body);
    let response = json_response(status, &body);
    let call = Call {
        seq: 0,
        method,
        token,
        params: recorded(decoded),
        status: if lose_response { 0 } else { status },
        description: if lose_response { Some("response lost by a fault".to_owned()) } else { description },
        response: (!lose_response).then_some(body),
        at,
    };
    record(&shared, call);
    if lose_response {
        conn.kill();
    }
    response
}

/// The call's parameters as the log keeps them (an undecodable body as `{}`).
fn recorded(decoded: ApiResult<Params>) -> Value {
    decoded.map_or_else(|_| json!({}), Params::into_recorded)
}

async fn run(shared: &Shared, canonical: Option<&'static str>, decoded: &ApiResult<Params>) -> ApiResult {
    // An unknown method is a 404 even with a broken body: a 5xx here would
    // make teloxide sleep 10 s.
    let Some(method) = canonical else {
        return Err(ApiError::new(404, descriptions::METHOD_NOT_FOUND));
    };
    match decoded {
        Ok(params) => methods::call(shared, method, params).await,
        Err(e) => Err(e.clone()),
    }
}

/// Appends the call to the log, notes refusals in the chat's transcript and
/// wakes whoever waits for calls.
fn record(shared: &Shared, mut call: Call) {
    {
        let mut world = shared.world();
        if call.status != 200 {
            let chat = call.params.get("chat_id").and_then(as_i64).or_else(|| {
                let query = call.params.get("callback_query_id")?.as_str()?;
                world.query_chat(query)
            });
            if let (Some(chat), Some(description)) = (chat, call.description.as_deref()) {
                world.note_refused(chat, &call.method, description);
            }
        }
        world.count_call(&call.method, call.status == 200);
        if world.keep_calls {
            call.seq = world.calls.len();
            world.calls.push(call);
        }
    }
    shared.call_recorded();
}

#[cfg(test)]
mod tests {
    use super::split_path;

    #[test]
    fn the_token_and_method_come_from_the_path() {
        assert_eq!(
            split_path("/bot123:ABC/SendMessage"),
            Some(("123:ABC".to_owned(), "SendMessage".to_owned()))
        );
        assert_eq!(split_path("/file/bot123:ABC/x/y"), None);
        assert_eq!(split_path("/bot123:ABC/"), None);
    }
}
