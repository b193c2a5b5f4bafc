//! Everything the plugin says to users, in Russian, in one place.

use vox_plugin::ru;

use crate::ids::Action;
use crate::view::format;

/// The section's part of the bot's `/help`.
pub const HELP: &str = "Отчеты, которые VoxPersona сохранила для вас после анализа.\n\
    • Откройте раздел кнопкой «📄 Мои отчеты» или командой /reports: бот пришлет файл «Мои_отчеты.txt» \
    со всеми вашими отчетами. Номер отчета — число после №; номера не меняются и не используются повторно.\n\
    • 👁️ Посмотреть, ✏️ Переименовать, 🗑️ Удалить: нажмите кнопку под списком, введите номер отчета \
    и подтвердите «✅ Да». Удаление безвозвратно; «❌ Отмена» или /cancel прерывают действие.\n\
    • 🔎 Фильтр: слова из названия и/или период ДД.ММ.ГГГГ-ДД.ММ.ГГГГ — бот пришлет список только таких отчетов.\n\
    • 📤 CSV и 📤 JSON: тот же список таблицей или данными; 📊 Статистика — отчеты по месяцам и типам поиска; \
    если отчетов больше ста, «📖 Листать список» показывает их по 25 прямо в чате.\n\
    • «Список устарел»: номера из файла действуют несколько минут после его отправки (обычно 5) и только \
    для последнего присланного списка — откройте список заново.";

/// Paging through a long list.
pub const BROWSE: &str = "📖 Листать список";
/// The statistics view.
pub const STATS: &str = "📊 Статистика";

/// One page of a list: its heading.
pub fn page_heading(first: usize, last: usize, total: usize) -> String {
    format!("📖 Отчеты {first}–{last} из {total}. Номер отчета — число после №; действие — кнопкой ниже.")
}

/// The statistics chart's caption.
pub const STATS_CHART: &str = "📊 Отчеты по месяцам";

/// The statistics view's heading.
pub fn stats_heading(count: usize, total: &str) -> String {
    format!("📊 Статистика: {}, общий размер {total}.", ru::count(count as u64, REPORTS))
}

/// Main menu, "back" target.
pub const BACK: &str = "« Назад";
/// Reopen the list.
pub const OPEN_LIST: &str = "📄 Мои отчеты";
/// Cancel a step.
pub const CANCEL: &str = "❌ Отмена";

/// v1: header of the recent-reports menu.
pub const V1_RECENT: &str = "📄 Ваши последние отчеты. Нажмите на отчет, чтобы получить файл:";
/// v1: "show all" button.
pub const V1_SHOW_ALL: &str = "📋 Показать все";
/// No reports at all.
pub const NO_REPORTS: &str =
    "📭 У вас пока нет сохраненных отчетов. Они появятся здесь после анализа — вернитесь в главное меню.";
/// A legacy button's path was refused.
pub const REPORT_UNAVAILABLE: &str = "Этот отчет недоступен.";
/// Reports storage failed.
pub const STORAGE_FAILED: &str = "⚠️ Не удалось прочитать отчеты. Попробуйте еще раз через минуту.";
/// The user's previous operation still runs.
pub const BUSY: &str = "⏳ Предыдущая операция еще выполняется. Попробуйте еще раз через несколько секунд.";
/// A confirmation pressed twice, or after its dialogue ended.
pub const ALREADY_DONE: &str = "Это действие уже выполнено или отменено.";
/// A confirmation whose dialogue is gone (expired, replaced, lost): nothing was done.
pub const QUESTION_OUTDATED: &str =
    "⌛ Этот вопрос устарел, и действие не выполнено. Откройте список заново и выберите отчет еще раз.";
/// Step cancelled.
pub const CANCELLED: &str = "❌ Действие отменено.";
/// Too many wrong answers.
pub const TOO_MANY_TRIES: &str =
    "Слишком много неверных попыток. Действие отменено — откройте список заново.";
/// Non-text input in a step.
pub const SEND_TEXT: &str = "Пожалуйста, отправьте ответ текстом.";
/// "The list is outdated", naming how long numbers stay valid (`snapshot_ttl_secs`).
pub fn list_outdated(ttl_secs: u64) -> String {
    format!(
        "⌛ Список устарел: номера действуют {} после его отправки (или вы уже открыли новый). Откройте список заново.",
        duration_ru(ttl_secs)
    )
}

/// `300` → "5 минут", `90` → "90 секунд", `3600` → "1 час": the largest whole unit.
pub fn duration_ru(secs: u64) -> String {
    let (n, forms) = if secs >= 3600 && secs.is_multiple_of(3600) {
        (secs / 3600, ["час", "часа", "часов"])
    } else if secs >= 60 && secs.is_multiple_of(60) {
        (secs / 60, ["минуту", "минуты", "минут"])
    } else {
        (secs, ["секунду", "секунды", "секунд"])
    };
    ru::count(n, forms)
}

/// "отчет" after a count, in its forms for 1, 2–4 and 5+.
pub const REPORTS: [&str; 3] = ["отчет", "отчета", "отчетов"];

/// The caption of a CSV / JSON export.
pub fn export_caption(count: usize) -> String {
    format!("📤 Экспорт списка: {}.", ru::count(count as u64, REPORTS))
}
/// The host dropped an expired step.
pub const STEP_EXPIRED: &str = "⌛ Время ожидания ответа истекло, действие отменено. Откройте список заново.";
/// v2 menu under the list.
pub const V2_MENU: &str = "Выберите действие, затем введите номер отчета из списка.";
/// Filter prompt.
pub const ASK_FILTER: &str = "🔎 Введите слова из названия и/или период в формате ДД.ММ.ГГГГ-ДД.ММ.ГГГГ.\n\
    Например: «встреча 01.01.2025-31.03.2025» или «15.01.2025».";
/// Filter matched nothing.
pub const FILTER_EMPTY: &str = "🔎 По этому фильтру отчетов не найдено.";

/// Caption of the TXT list.
pub fn list_caption(count: usize) -> String {
    format!("📄 Ваши отчеты: {count}. Номер отчета — число после №.")
}

/// Caption of a filtered TXT list.
pub fn filtered_caption(count: usize, filter: &str) -> String {
    format!("🔎 Найдено отчетов: {count} (фильтр: {filter}).")
}

/// A list too large to send.
pub fn list_too_large(bytes: u64) -> String {
    format!(
        "⚠️ Список получился слишком большим ({}), чтобы отправить его файлом. \
         Удалите старые отчеты или сузьте список фильтром по дате или словам.",
        format::size(bytes)
    )
}

/// A report file too large for Telegram.
pub fn file_too_large(number: u32, bytes: u64) -> String {
    format!(
        "⚠️ Отчет №{number} весит {} — это больше лимита Telegram в 50 МБ, отправить его нельзя.",
        format::size(bytes)
    )
}

/// A report file too large for Telegram (v1, which shows no numbers).
pub fn file_too_large_plain(bytes: u64) -> String {
    format!(
        "⚠️ Этот отчет весит {} — это больше лимита Telegram в 50 МБ, отправить его нельзя.",
        format::size(bytes)
    )
}

/// A report whose file is gone from disk.
pub fn file_missing(title: &str) -> String {
    format!("⚠️ Файл отчета «{title}» не найден на сервере. Возможно, он был удален.")
}

/// v1: the "show all" text's header.
pub fn v1_all_header(shown: usize, total: usize, total_bytes: u64) -> String {
    format!("📋 Ваши отчеты (последние {shown} из {total}), общий размер: {}:\n", format::size(total_bytes))
}

/// "Enter the number" prompt.
pub fn ask_number(action: Action, max: u32) -> String {
    let what = match action {
        Action::View => "👁️ Какой отчет прислать?",
        Action::Rename => "✏️ Какой отчет переименовать?",
        Action::Delete => "🗑️ Какой отчет удалить?",
    };
    format!("{what} Введите его номер из списка (число после №, до {max}).")
}

/// Not digits.
pub fn not_a_number(text: &str) -> String {
    format!("«{}» — не номер. Введите номер отчета цифрами, например 3.", format::truncate(text, 30))
}

/// Zero, negative, huge.
pub fn out_of_range(max: u32) -> String {
    format!("Номер должен быть целым числом от 1 до {max}. Попробуйте еще раз.")
}

/// A number that is not in the list.
pub fn not_in_list(number: u32, max: u32) -> String {
    format!(
        "Отчета №{number} нет в этом списке (номера — от 1 до {max}, удаленные пропущены). Попробуйте еще раз."
    )
}

/// Tries left, appended to a wrong-input message.
pub fn tries_left(left: u32) -> String {
    format!("Осталось попыток: {left}.")
}

/// A report deleted or changed since the list was made.
pub fn report_gone(number: u32) -> String {
    format!("⚠️ Отчет №{number} уже удален или изменен после отправки списка. Откройте список заново.")
}

/// Confirmation before sending a report.
pub fn confirm_view(number: u32, title: &str) -> String {
    format!("👁️ Прислать отчет №{number} «{title}»?")
}

/// Ask for the new title.
pub fn ask_new_title(number: u32, title: &str) -> String {
    format!(
        "✏️ Введите новое название для отчета №{number}.\nСейчас: «{title}».\nДо 200 символов, одной строкой."
    )
}

/// Confirmation before renaming.
pub fn confirm_rename(number: u32, old: &str, new: &str) -> String {
    format!("✏️ Переименовать отчет №{number}?\n«{old}» → «{new}»")
}

/// Confirmation before deleting.
pub fn confirm_delete(number: u32, title: &str) -> String {
    format!("🗑️ Удалить отчет №{number} «{title}»? Файл будет удален безвозвратно.")
}

/// Caption of a sent report.
pub fn report_caption(number: u32, title: &str) -> String {
    format::truncate_units(&format!("№{number}: {title}"), 1024)
}

/// Done: renamed.
pub fn renamed(number: u32, title: &str) -> String {
    format!("✅ Отчет №{number} переименован: «{title}». В новом списке будет новое название.")
}

/// Done: deleted.
pub fn deleted(number: u32, title: &str) -> String {
    format!("🗑️ Отчет №{number} «{title}» удален. Его номер больше не будет использован.")
}

/// Done: sent.
pub fn viewed(number: u32) -> String {
    format!("✅ Отчет №{number} отправлен. Выберите следующее действие или откройте список заново.")
}

/// Title refused: empty.
pub const TITLE_EMPTY: &str = "Название не может быть пустым. Введите новое название.";
/// Title refused: control characters.
pub const TITLE_CONTROL: &str =
    "Название должно быть одной строкой, без переносов и табуляции. Введите еще раз.";

/// Title refused: too long.
pub fn title_too_long(chars: usize) -> String {
    format!(
        "Название слишком длинное: {}, можно до 200. Сократите его.",
        ru::count(chars as u64, ["символ", "символа", "символов"])
    )
}

/// Filter refused.
pub fn bad_filter(detail: &str) -> String {
    format!("Не получилось разобрать фильтр: {detail}. Пример: «встреча 01.01.2025-31.03.2025».")
}

#[cfg(test)]
mod duration_tests {
    use super::*;

    #[test]
    fn durations_read_as_russian() {
        assert_eq!(duration_ru(300), "5 минут");
        assert_eq!(duration_ru(60), "1 минуту");
        assert_eq!(duration_ru(120), "2 минуты");
        assert_eq!(duration_ru(1260), "21 минуту");
        assert_eq!(duration_ru(660), "11 минут");
        assert_eq!(duration_ru(2), "2 секунды");
        assert_eq!(duration_ru(90), "90 секунд");
        assert_eq!(duration_ru(7200), "2 часа");
        assert!(list_outdated(300).contains("номера действуют 5 минут после"));
    }
}
