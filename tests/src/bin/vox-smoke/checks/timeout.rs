//! Check 10: the list's numbers expire. The user opens the list, starts
//! "👁️ Посмотреть" in time, waits past the (shortened) snapshot time-to-live,
//! then types a valid number: the bot must answer "Список устарел" and
//! neither ask to confirm nor send anything.

use std::time::Duration;

use crate::checks::flow::{self, text};
use crate::checks::{Ctx, users};
use crate::outcome::{CheckResult, attempt};

/// How far past the time-to-live the number is typed.
const PAST_TTL: Duration = Duration::from_millis(600);
/// How long to watch for an action after the answer.
const SETTLE: Duration = Duration::from_millis(400);

/// Runs check 10.
pub async fn run(ctx: &Ctx) -> CheckResult {
    let chat = users::TIMEOUT;
    CheckResult { number: 10, verdict: verdict(ctx, chat).await, chat: Some(chat) }
}

async fn verdict(ctx: &Ctx, chat: i64) -> Result<String, String> {
    let mut user = ctx.api.user(chat, "Смоук-Таймаут");
    let target = flow::pick(&ctx.reports.of(chat)?)?;
    let opened = flow::open_list(&mut user).await?;
    attempt(async {
        user.press("Посмотреть");
        user.expect_text("Какой отчет прислать?").await;
        Ok(())
    })
    .await
    .map_err(|e| format!("starting «Посмотреть» within the time-to-live: {e}"))?;
    let typed_at = opened.at + ctx.snapshot_ttl + PAST_TTL;
    tokio::time::sleep_until(typed_at.into()).await;
    let cursor = ctx.api.call_count();
    user.send_text(&target.number.to_string());
    let answer = attempt(async { Ok(user.expect_message().await) }).await.map_err(|e| {
        format!(
            "expected «{}» for №{} typed {:.1} s after the list: {e}",
            text::OUTDATED,
            target.number,
            waited(&opened, typed_at)
        )
    })?;
    tokio::time::sleep(SETTLE).await;
    let said = flow::texts_since(&ctx.api, chat, cursor);
    let documents = flow::documents_since(&ctx.api, chat, cursor);
    if !answer.body().contains(text::OUTDATED)
        || documents > 0
        || said.iter().any(|t| t.contains("Прислать отчет"))
    {
        return Err(format!(
            "expected only «{}» for №{} typed {:.1} s after the list (time-to-live {} s); the bot said {} and sent {documents} document(s)",
            text::OUTDATED,
            target.number,
            waited(&opened, typed_at),
            ctx.snapshot_ttl.as_secs(),
            flow::said_since(&ctx.api, chat, cursor)
        ));
    }
    Ok(format!(
        "№{} typed {:.1} s after the list (time-to-live {} s) → «{}»",
        target.number,
        waited(&opened, typed_at),
        ctx.snapshot_ttl.as_secs(),
        flow::short(&flow::first_line(&answer), 40)
    ))
}

fn waited(opened: &flow::OpenedList, typed_at: std::time::Instant) -> f64 {
    typed_at.duration_since(opened.at).as_secs_f64()
}
