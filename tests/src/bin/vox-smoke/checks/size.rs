//! Check 12: a list over the size limit is refused. The seeded user's TXT list
//! would be over the default `max_list_bytes` (10 MiB): opening it from the
//! main menu must get the Russian refusal, with the filter offered, and no
//! document.

use std::time::Duration;

use crate::big_list::BigList;
use crate::checks::flow::{self, text};
use crate::checks::{Ctx, users};
use crate::outcome::{CheckResult, attempt};

/// Building a 10 MB list takes a debug build a while.
const WAIT: Duration = Duration::from_secs(20);
/// How long to watch for a document after the refusal.
const SETTLE: Duration = Duration::from_millis(500);

/// Runs check 12.
pub async fn run(ctx: &Ctx, big: &BigList) -> CheckResult {
    let chat = users::BIG;
    let verdict = verdict(ctx, chat, big).await;
    // A lowered limit is said either way.
    let verdict = match &big.lowered {
        Some(why) => verdict.map(|note| format!("{note}; {why}")).map_err(|e| format!("{e}; {why}")),
        None => verdict,
    };
    CheckResult { number: 12, verdict, chat: Some(chat) }
}

async fn verdict(ctx: &Ctx, chat: i64, big: &BigList) -> Result<String, String> {
    let mut user = ctx.api.user(chat, "Смоук-Большой").with_wait(WAIT);
    let cursor = ctx.api.call_count();
    let refusal = attempt(async {
        user.send_text("/start");
        user.expect_text(text::MAIN_MENU).await;
        user.press(text::OPEN_LIST);
        Ok(user.expect_message().await)
    })
    .await
    .map_err(|e| format!("expected the refusal for {} reports: {e}", big.reports))?;
    tokio::time::sleep(SETTLE).await;
    let documents = flow::documents_since(&ctx.api, chat, cursor);
    if !refusal.body().contains(text::TOO_LARGE) || documents > 0 {
        return Err(format!(
            "expected «{}» and no document for a list of ≥ {:.1} MiB ({} reports), got «{}» and {documents} document(s)",
            text::TOO_LARGE,
            mib(big.list_bytes_at_least),
            big.reports,
            flow::first_line(&refusal)
        ));
    }
    if refusal.button("Фильтр").is_none() {
        return Err(format!("the refusal offers no «Фильтр»: {:?}", refusal.button_labels()));
    }
    Ok(format!(
        "{} reports, list ≥ {:.1} MiB over the {:.1} MiB limit → «{}», no document",
        big.reports,
        mib(big.list_bytes_at_least),
        mib(big.limit),
        flow::short(&flow::first_line(&refusal), 60)
    ))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}
