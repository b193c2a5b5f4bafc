//! The Bot API methods the fake implements: the one table of names, and the
//! dispatch from a canonical name to the file that handles it.

mod callbacks;
mod commands;
mod content;
mod delete;
mod edit;
mod polling;
mod send;

use serde_json::Value;

pub(crate) use commands::key as commands_key;

use crate::error::ApiResult;
use crate::request::Params;
use crate::shared::Shared;

/// Every method the fake answers, in Telegram's camelCase spelling.
const METHODS: &[&str] = &[
    "getMe",
    "getWebhookInfo",
    "deleteWebhook",
    "setWebhook",
    "getUpdates",
    "sendMessage",
    "sendDocument",
    "sendPhoto",
    "sendChatAction",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "deleteMessage",
    "deleteMessages",
    "answerCallbackQuery",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
];

/// The canonical spelling of a method name; teloxide sends PascalCase
/// (`SendMessage`) and Telegram matches names case-insensitively.
pub(crate) fn canonical(name: &str) -> Option<&'static str> {
    METHODS.iter().copied().find(|m| m.eq_ignore_ascii_case(name))
}

/// Runs one method. Only `getUpdates` awaits (it long-polls); every other
/// method is one short critical section on the world.
pub(crate) async fn call(shared: &Shared, method: &'static str, params: &Params) -> ApiResult<Value> {
    if method == "getUpdates" {
        return polling::get_updates(shared, params).await;
    }
    let mut world = shared.world();
    let world = &mut *world;
    match method {
        "getMe" => polling::get_me(world),
        "getWebhookInfo" => polling::get_webhook_info(world),
        "deleteWebhook" => polling::delete_webhook(world, params),
        "setWebhook" => polling::set_webhook(world, params),
        "sendMessage" => send::send_message(world, params),
        "sendDocument" => send::send_document(world, params),
        "sendPhoto" => send::send_photo(world, params),
        "sendChatAction" => send::send_chat_action(world, params),
        "editMessageText" => edit::edit_message_text(world, params),
        "editMessageCaption" => edit::edit_message_caption(world, params),
        "editMessageReplyMarkup" => edit::edit_message_reply_markup(world, params),
        "deleteMessage" => delete::delete_message(world, params),
        "deleteMessages" => delete::delete_messages(world, params),
        "answerCallbackQuery" => callbacks::answer_callback_query(world, params),
        "setMyCommands" => commands::set_my_commands(world, params),
        "getMyCommands" => commands::get_my_commands(world, params),
        "deleteMyCommands" => commands::delete_my_commands(world, params),
        _ => Err(crate::error::ApiError::new(404, crate::error::descriptions::METHOD_NOT_FOUND)),
    }
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn pascal_case_names_map_to_camel_case() {
        assert_eq!(canonical("SendMessage"), Some("sendMessage"));
        assert_eq!(canonical("GETUPDATES"), Some("getUpdates"));
        assert_eq!(canonical("SENDPHOTO"), Some("sendPhoto"));
        assert_eq!(canonical("sendSticker"), None);
    }
}
