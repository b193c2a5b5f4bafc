//! What the checks share: the stable fragments of the bot's Russian texts,
//! opening the list as a user does (main menu → "📄 Мои отчеты"), and reading
//! the fake Bot API's record (calls in a chat, deleted messages).

use std::time::{Duration, Instant};

use vox_fake_bot_api::{BotMessage, Call, FakeBotApi, ScriptedUser};

use crate::index::Entry;
use crate::outcome::attempt;

/// Fragments of what the bot says, from `plugins/main-menu` and
/// `plugins/my-reports/src/texts.rs`; stable parts only, no emoji.
pub mod text {
    /// The main menu (`/start`).
    pub const MAIN_MENU: &str = "Главное меню";
    /// Its button that opens my-reports.
    pub const OPEN_LIST: &str = "Мои отчеты";
    /// `V2_MENU`, the menu under the list.
    pub const V2_MENU: &str = "Выберите действие";
    /// The action buttons of that menu.
    pub const ACTIONS: [&str; 3] = ["Посмотреть", "Переименовать", "Удалить"];
    /// `texts::list_outdated`.
    pub const OUTDATED: &str = "Список устарел";
    /// `list_too_large`.
    pub const TOO_LARGE: &str = "Список получился слишком большим";
    /// `ALREADY_DONE`.
    pub const ALREADY_DONE: &str = "уже выполнено или отменено";
    /// `list_caption` / the TXT list's total line.
    pub const TOTAL: &str = "Всего отчетов:";
}

/// A list as a user got it.
#[derive(Debug, Clone)]
pub struct OpenedList {
    /// When the TXT file arrived (its snapshot was taken before).
    pub at: Instant,
}

/// `/start`, then "📄 Мои отчеты" in the main menu; waits for the TXT list and the menu under it.
pub async fn open_list(user: &mut ScriptedUser) -> Result<OpenedList, String> {
    let (api, chat, cursor) = (user.api().clone(), user.chat_id(), user.api().call_count());
    attempt(async {
        user.send_text("/start");
        user.expect_text(text::MAIN_MENU).await;
        user.press(text::OPEN_LIST);
        user.expect_document().await;
        let at = Instant::now();
        user.expect_text(text::V2_MENU).await;
        Ok(OpenedList { at })
    })
    .await
    .map_err(|e| format!("opening the list: {e}; the bot said {}", said_since(&api, chat, cursor)))
}

/// For a failed flow whose list went stale under it (the bot `said` «Список
/// устарел» and it took longer than the time-to-live): a hint; empty otherwise.
pub fn ttl_hint(ttl: Duration, opened: &OpenedList, said: &str) -> String {
    let took = opened.at.elapsed();
    if took < ttl || !said.contains(text::OUTDATED) {
        return String::new();
    }
    format!(
        " (the flow took {:.1} s since the list, past the {} s snapshot time-to-live: a slow machine? \
         try --snapshot-ttl 5)",
        took.as_secs_f64(),
        ttl.as_secs()
    )
}

/// The report a check acts on: the middle one by number, so neither the newest nor the oldest.
pub fn pick(entries: &[Entry]) -> Result<Entry, String> {
    let mut sorted = entries.to_vec();
    sorted.sort_by_key(|e| e.number);
    sorted.get(sorted.len() / 2).cloned().ok_or_else(|| "the user has no seeded reports".to_owned())
}

/// Successful calls about `chat` from `cursor` on.
pub fn chat_calls_since(api: &FakeBotApi, chat: i64, cursor: usize) -> Vec<Call> {
    api.calls_since(cursor).0.into_iter().filter(|c| c.is_ok() && c.chat_id() == Some(chat)).collect()
}

/// The texts of the messages the bot sent to `chat` from `cursor` on.
pub fn texts_since(api: &FakeBotApi, chat: i64, cursor: usize) -> Vec<String> {
    chat_calls_since(api, chat, cursor)
        .iter()
        .filter(|c| c.method == "sendMessage")
        .filter_map(|c| c.result()?.get("text")?.as_str().map(str::to_owned))
        .collect()
}

/// What the bot said in `chat` from `cursor` on, for a failure reason:
/// `«first line», «…»` or `nothing`.
pub fn said_since(api: &FakeBotApi, chat: i64, cursor: usize) -> String {
    let said: Vec<String> = texts_since(api, chat, cursor)
        .iter()
        .map(|t| format!("«{}»", short(t.lines().next().unwrap_or_default(), 60)))
        .collect();
    if said.is_empty() { "nothing".to_owned() } else { said.join(", ") }
}

/// Documents the bot sent to `chat` from `cursor` on.
pub fn documents_since(api: &FakeBotApi, chat: i64, cursor: usize) -> usize {
    chat_calls_since(api, chat, cursor).iter().filter(|c| c.method == "sendDocument").count()
}

/// Waits up to `timeout` until every message in `ids` is deleted; returns those still visible.
pub async fn wait_deleted(api: &FakeBotApi, chat: i64, ids: &[i32], timeout: Duration) -> Vec<i32> {
    let started = Instant::now();
    loop {
        let visible: Vec<i32> =
            ids.iter().copied().filter(|id| api.message(chat, *id).is_none_or(|m| !m.deleted)).collect();
        if visible.is_empty() || started.elapsed() >= timeout {
            return visible;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first line of a message, for notes and reasons.
pub fn first_line(message: &BotMessage) -> String {
    message.body().lines().next().unwrap_or_default().to_owned()
}

/// At most `max` characters, with `…` when cut: the plugin's own helper.
pub use vox_my_reports::view::format::truncate as short;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_list_is_explained_only_when_the_bot_said_so_after_the_ttl() {
        let ttl = Duration::from_secs(2);
        let old = OpenedList { at: Instant::now() - Duration::from_secs(3) };
        let said = "«⌛ Список устарел: номера действуют…»";
        assert!(ttl_hint(ttl, &old, said).contains("try --snapshot-ttl"), "{}", ttl_hint(ttl, &old, said));
        assert_eq!(ttl_hint(ttl, &old, "«⚠️ Не удалось прочитать отчеты»"), "");
        assert_eq!(ttl_hint(ttl, &OpenedList { at: Instant::now() }, said), "");
        assert_eq!(short("Список устарел", 7), "Список…");
    }
}
