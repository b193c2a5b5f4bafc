//! What the host itself says to users, in one place (Russian, as the bot's users read it).

/// A handler failed or panicked.
pub const APOLOGY: &str = "⚠️ Что-то пошло не так. Попробуйте ещё раз или откройте меню: /menu";
/// Toast for the same, on a pressed button.
pub const APOLOGY_TOAST: &str = "Что-то пошло не так. Попробуйте ещё раз.";
/// A button nobody owns any more (an old message).
pub const OUTDATED_BUTTON: &str = "Эта кнопка устарела. Откройте меню заново: /menu";
/// `/cancel` with an open dialogue.
pub const CANCELLED: &str = "Действие отменено. Откройте меню: /menu";
/// `/cancel` with nothing open.
pub const NOTHING_TO_CANCEL: &str = "Нечего отменять. Откройте меню: /menu";
/// Text outside any dialogue.
pub const NOT_UNDERSTOOD: &str = "Я не понял сообщение. Откройте меню: /menu";
/// A command nobody declared.
pub const UNKNOWN_COMMAND: &str = "Неизвестная команда. Откройте меню: /menu";
/// A plugin switched off by config.
pub const SECTION_UNAVAILABLE: &str = "Раздел временно недоступен. Откройте меню: /menu";
/// The dialogue's time ran out and its plugin said nothing itself.
pub const STEP_EXPIRED: &str = "⏳ Время ожидания истекло, действие отменено. Откройте меню: /menu";
/// The version serving an open dialogue or an old button was switched off.
pub const MENU_UPDATED: &str = "🔄 Меню обновилось. Откройте раздел заново: /menu";
/// Toast for the same, on a pressed button.
pub const MENU_UPDATED_TOAST: &str = "Меню обновилось";
/// The same, when the current menu follows right away.
pub const MENU_UPDATED_SHORT: &str = "🔄 Меню обновилось — вот актуальное.";
/// The same, when the main menu follows right away.
pub const SECTION_UNAVAILABLE_SHORT: &str = "⛔ Раздел временно недоступен.";
/// The state store (Redis) stayed unreachable: the update could not be served
/// with its dialogue, and serving it without would answer the wrong question.
pub const STATE_UNAVAILABLE: &str =
    "⚠️ Сервис временно недоступен, ваше сообщение не обработано. Повторите его через минуту.";
/// Toast for the same, on a pressed button.
pub const STATE_UNAVAILABLE_TOAST: &str = "Сервис временно недоступен. Нажмите ещё раз через минуту.";
