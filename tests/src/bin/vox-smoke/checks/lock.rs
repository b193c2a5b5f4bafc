//! Check 11: a confirmation pressed several times at once acts once. The user
//! gets to "🗑️ Удалить отчет №N?", then presses "✅ Да, удалить" several times
//! without waiting: exactly one report is deleted (index and file), one
//! "удален" message is sent, and every press is answered (none twice).

use std::time::Duration;

use crate::checks::flow::{self, text};
use crate::checks::{Ctx, users};
use crate::outcome::{CheckResult, attempt};

/// How many times the button is pressed.
const PRESSES: usize = 5;
/// How long each press may wait for its answer.
const ANSWER_WAIT: Duration = Duration::from_secs(5);
/// How long to watch for a second delete after the answers.
const SETTLE: Duration = Duration::from_millis(500);

/// Runs check 11.
pub async fn run(ctx: &Ctx) -> CheckResult {
    let chat = users::LOCK;
    CheckResult { number: 11, verdict: verdict(ctx, chat).await, chat: Some(chat) }
}

async fn verdict(ctx: &Ctx, chat: i64) -> Result<String, String> {
    let mut user = ctx.api.user(chat, "Смоук-Блокировка");
    let seeded = ctx.reports.of(chat)?;
    let target = flow::pick(&seeded)?;
    let n = target.number;
    let opened = flow::open_list(&mut user).await?;
    let asked_from = ctx.api.call_count();
    let confirmation = attempt(async {
        user.press("Удалить");
        user.expect_text("Какой отчет удалить?").await;
        user.send_text(&n.to_string());
        Ok(user.expect_text(&format!("Удалить отчет №{n}")).await)
    })
    .await
    .map_err(|e| {
        let said = flow::said_since(&ctx.api, chat, asked_from);
        let hint = flow::ttl_hint(ctx.snapshot_ttl, &opened, &said);
        format!("getting to the delete confirmation of №{n}: {e}; the bot said {said}{hint}")
    })?;
    let yes = confirmation.button("Да, удалить").and_then(|b| b.callback_data.clone()).ok_or_else(|| {
        format!("the confirmation has no «Да, удалить» button: {:?}", confirmation.button_labels())
    })?;

    let cursor = ctx.api.call_count();
    let queries: Vec<String> = (0..PRESSES).map(|_| user.press_data(confirmation.id, &yes)).collect();
    let mut unanswered = Vec::new();
    for query in &queries {
        let answered = ctx
            .api
            .wait_call(
                cursor,
                |c| {
                    c.is_ok()
                        && c.method == "answerCallbackQuery"
                        && c.params.get("callback_query_id").and_then(|v| v.as_str()) == Some(query.as_str())
                },
                ANSWER_WAIT,
            )
            .await;
        if answered.is_none() {
            unanswered.push(query.clone());
        }
    }
    tokio::time::sleep(SETTLE).await;
    let (calls, _) = ctx.api.calls_since(cursor);
    let refused = calls.iter().filter(|c| c.method == "answerCallbackQuery" && !c.is_ok()).count();
    let done_messages = flow::texts_since(&ctx.api, chat, cursor)
        .into_iter()
        .filter(|t| t.contains(&format!("Отчет №{n} «")))
        .count();
    let left = ctx.reports.of(chat)?;
    let entry_gone = !left.iter().any(|e| e.number == n);
    let file_gone = !ctx.reports.file(&target).exists();
    let repeats: Vec<String> = queries
        .iter()
        .filter_map(|q| ctx.api.callback_answer(q).and_then(|a| a.text))
        .filter(|t| t.contains(text::ALREADY_DONE) || t.contains("выполняется"))
        .collect();

    let mut problems = Vec::new();
    if !unanswered.is_empty() {
        problems.push(format!("{} of {PRESSES} presses never answered", unanswered.len()));
    }
    if refused > 0 {
        problems.push(format!("{refused} callback answers refused by Telegram (answered twice?)"));
    }
    if done_messages != 1 {
        problems.push(format!("{done_messages} «удален» messages instead of 1"));
    }
    if !(entry_gone && file_gone) || left.len() + 1 != seeded.len() {
        problems.push(format!(
            "expected exactly №{n} deleted: entry gone {entry_gone}, file gone {file_gone}, {} of {} reports left",
            left.len(),
            seeded.len()
        ));
    }
    if !problems.is_empty() {
        let hint = flow::ttl_hint(ctx.snapshot_ttl, &opened, &flow::said_since(&ctx.api, chat, cursor));
        return Err(format!("{PRESSES} quick presses of «Да, удалить»: {}{hint}", problems.join("; ")));
    }
    Ok(format!(
        "{PRESSES} quick presses: №{n} deleted once, all {PRESSES} answered, {} answered «{}»",
        repeats.len(),
        text::ALREADY_DONE
    ))
}
