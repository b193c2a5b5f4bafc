//! `getMe`, the webhook pair and `getUpdates`, the calls a polling bot makes
//! before and while it receives updates.

use std::time::Duration;

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::request::Params;
use crate::shared::Shared;
use crate::wire;
use crate::world::World;

/// Telegram's cap on updates per `getUpdates`, also its default.
const MAX_LIMIT: i64 = 100;
/// The longest long poll the fake holds, so a typo cannot hang a test for hours.
const MAX_TIMEOUT_SECS: i64 = 60;

pub(super) fn get_me(world: &mut World) -> ApiResult<Value> {
    Ok(wire::get_me(&world.bot))
}

pub(super) fn get_webhook_info(world: &mut World) -> ApiResult<Value> {
    let failed = world.deliveries.iter().rev().find(|d| d.status.is_none_or(|s| !(200..300).contains(&s)));
    let mut info = json!({
        "url": world.webhook.as_ref().map_or("", |h| h.url.as_str()),
        "has_custom_certificate": false,
        "pending_update_count": world.pending_updates(),
    });
    if let (Some(_), Some(failed)) = (&world.webhook, failed) {
        info["last_error_message"] = match failed.status {
            Some(status) => json!(format!("Wrong response from the webhook: {status}")),
            None => json!("Connection refused"),
        };
    }
    Ok(info)
}

pub(super) fn delete_webhook(world: &mut World, params: &Params) -> ApiResult<Value> {
    if params.opt_bool("drop_pending_updates")? == Some(true) {
        world.updates_from(Some(i64::MAX), 0);
    }
    world.webhook = None;
    Ok(Value::Bool(true))
}

/// `setWebhook`: `url` (empty removes it, as Telegram allows), optional
/// `secret_token` (1-256 of `A-Za-z0-9_-`), `max_connections` (1-100, 40),
/// `allowed_updates`, `drop_pending_updates`.
pub(super) fn set_webhook(world: &mut World, params: &Params) -> ApiResult<Value> {
    let url = params.opt_str("url")?.unwrap_or_default();
    let secret = params.opt_str("secret_token")?;
    if let Some(s) = &secret
        && (s.is_empty()
            || s.len() > 256
            || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        return Err(ApiError::new(400, "Bad Request: secret token contains unallowed characters"));
    }
    if params.opt_bool("drop_pending_updates")? == Some(true) {
        world.updates_from(Some(i64::MAX), 0);
    }
    if let Some(kinds) = params.json("allowed_updates")? {
        let kinds = kinds.as_array().ok_or_else(|| ApiError::invalid("allowed_updates"))?;
        world.set_allowed_updates(kinds.iter().filter_map(|k| k.as_str().map(str::to_owned)).collect());
    }
    if url.is_empty() {
        world.webhook = None;
        return Ok(Value::Bool(true));
    }
    if !url.starts_with("http://") && !url.starts_with("https://") {
        return Err(ApiError::new(
            400,
            "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
        ));
    }
    let max_connections = params.opt_i64("max_connections")?.unwrap_or(40);
    if !(1..=100).contains(&max_connections) {
        return Err(ApiError::new(
            400,
            "Bad Request: bad webhook: max_connections must be between 1 and 100",
        ));
    }
    let max_connections = usize::try_from(max_connections).unwrap_or(40);
    world.webhook = Some(crate::webhook::Webhook { url, secret, max_connections });
    Ok(Value::Bool(true))
}

/// Confirms updates below `offset`, then answers with what is pending or,
/// when nothing is, holds the request up to `timeout` seconds: answering an
/// empty poll at once makes teloxide spin thousands of requests a second.
pub(super) async fn get_updates(shared: &Shared, params: &Params) -> ApiResult<Value> {
    if shared.world().webhook.is_some() {
        return Err(ApiError::new(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        ));
    }
    let offset = params.opt_i64("offset")?;
    let limit = params.opt_i64("limit")?.unwrap_or(MAX_LIMIT).clamp(1, MAX_LIMIT);
    let limit = usize::try_from(limit).unwrap_or(1);
    let timeout = params.opt_i64("timeout")?.unwrap_or(0).clamp(0, MAX_TIMEOUT_SECS);
    let timeout = Duration::from_secs(u64::try_from(timeout).unwrap_or(0));
    if let Some(kinds) = params.json("allowed_updates")? {
        let kinds = kinds
            .as_array()
            .ok_or_else(|| ApiError::invalid("allowed_updates"))?
            .iter()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect();
        shared.world().set_allowed_updates(kinds);
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let updates = shared
        .wait_update(deadline, |world| {
            let updates = world.updates_from(offset, limit);
            (!updates.is_empty()).then_some(updates)
        })
        .await
        .unwrap_or_default();
    Ok(Value::Array(updates))
}
