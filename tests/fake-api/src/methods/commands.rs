//! `setMyCommands`, `getMyCommands` and `deleteMyCommands`, kept per
//! (scope, language) like Telegram.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, descriptions};
use crate::request::Params;
use crate::types::Command;
use crate::world::World;

/// Telegram's cap on commands per scope and language.
const MAX_COMMANDS: usize = 100;

/// The storage key: the scope as canonical JSON (`"default"` when absent)
/// and the language code (empty for all languages).
pub(crate) fn key(scope: Option<&Value>, language_code: Option<&str>) -> (String, String) {
    let scope = match scope {
        None | Some(Value::Null) => "default".to_owned(),
        Some(v) if v.get("type").and_then(Value::as_str) == Some("default") => "default".to_owned(),
        Some(Value::Object(map)) => {
            // Sorted keys, so equal scopes from different clients match.
            let sorted: BTreeMap<_, _> = map.iter().collect();
            json!(sorted).to_string()
        }
        Some(other) => other.to_string(),
    };
    (scope, language_code.unwrap_or_default().to_owned())
}

fn params_key(params: &Params) -> ApiResult<(String, String)> {
    let scope = params.json("scope")?;
    let language = params.opt_str("language_code")?;
    Ok(key(scope.as_ref(), language.as_deref()))
}

fn command(value: &Value) -> ApiResult<Command> {
    let name = value
        .get("command")
        .and_then(Value::as_str)
        .filter(|c| {
            (1..=32).contains(&c.len())
                && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
        .ok_or_else(|| ApiError::bad_request(descriptions::BOT_COMMAND_INVALID))?;
    let description = value
        .get("description")
        .and_then(Value::as_str)
        .filter(|d| (1..=256).contains(&d.chars().count()))
        .ok_or_else(|| ApiError::bad_request(descriptions::BOT_COMMAND_DESCRIPTION_INVALID))?;
    Ok(Command { command: name.to_owned(), description: description.to_owned() })
}

pub(super) fn set_my_commands(world: &mut World, params: &Params) -> ApiResult<Value> {
    let list = params.json("commands")?.ok_or_else(|| ApiError::missing("commands"))?;
    let list = list.as_array().ok_or_else(|| ApiError::invalid("commands"))?;
    if list.len() > MAX_COMMANDS {
        return Err(ApiError::bad_request("Bad Request: too many commands"));
    }
    let commands = list.iter().map(command).collect::<ApiResult<Vec<_>>>()?;
    world.set_commands(params_key(params)?, commands);
    Ok(Value::Bool(true))
}

pub(super) fn get_my_commands(world: &mut World, params: &Params) -> ApiResult<Value> {
    let commands = world.commands(&params_key(params)?);
    Ok(Value::Array(
        commands.iter().map(|c| json!({ "command": c.command, "description": c.description })).collect(),
    ))
}

pub(super) fn delete_my_commands(world: &mut World, params: &Params) -> ApiResult<Value> {
    world.delete_commands(&params_key(params)?);
    Ok(Value::Bool(true))
}
