//! v2 — the new flow: a numbered TXT list with an action menu; the user picks
//! an action, types a number, confirms; every step can be cancelled and every
//! number is checked against the list the user actually got.
//!
//! `v2/list.rs` makes lists and exports, `v2/ask.rs` takes typed answers,
//! `v2/confirm.rs` applies confirmed actions under the user's lock,
//! `v2/browse.rs` pages through long lists and shows the statistics.

mod ask;
mod browse;
mod confirm;
mod list;

use serde::{Deserialize, Serialize};
use vox_plugin::{Ctx, HandlerError, MessageKind, StepState};

use crate::MyReports;
use crate::ids::{SEND_REPORT, SHOW_ALL_REPORTS, SHOW_MY_REPORTS, V2Button};
use crate::snapshot::{Snapshot, Stale};
use crate::telemetry::metrics::CancelledBy;
use crate::view::keyboards::{actions_keyboard, reopen_keyboard};
use crate::view::texts;

/// What a step remembers between messages.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StepData {
    /// The list the numbers refer to.
    snap: u64,
    /// Wrong answers so far.
    #[serde(default)]
    tries: u32,
    /// The chosen report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    number: Option<u32>,
    /// The new title, for a rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    /// The chosen report's file, as the list showed it (its identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// The chosen report's title when it was picked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shown_title: Option<String>,
    /// When the list was made and when the number was picked, ms since the
    /// Unix epoch: the list's time-to-live is checked at the pick, and the
    /// confirmation checks that it was (the yellow trigger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    list_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    picked_at_ms: Option<u64>,
}

/// Serves v2.
pub async fn handle(p: &MyReports, ctx: &mut Ctx) -> Result<(), HandlerError> {
    if let Some(data) = ctx.callback_data().map(str::to_owned) {
        if data == SHOW_MY_REPORTS {
            return list::open(p, ctx, None).await;
        }
        // The legacy shim: v1's buttons live on in old messages after v1 is switched off.
        if let Some(rel) = data.strip_prefix(SEND_REPORT) {
            return crate::v1::send_report(p, ctx, rel, &p.metrics.v2).await;
        }
        if data == SHOW_ALL_REPORTS {
            p.metrics.v2.legacy_callbacks.inc();
            return list::open(p, ctx, None).await;
        }
        return match V2Button::parse(&data) {
            Some(V2Button::Start(start, snap)) => ask::start(p, ctx, start, snap).await,
            Some(V2Button::Export(format, snap)) => list::export(p, ctx, format, snap).await,
            Some(V2Button::Yes(number)) => confirm::apply(p, ctx, number).await,
            Some(V2Button::Cancel) => cancel(p, ctx).await,
            Some(V2Button::Browse(snap)) => browse::page(p, ctx, snap, 0, false).await,
            Some(V2Button::Page(snap, page)) => browse::page(p, ctx, snap, page, true).await,
            Some(V2Button::Stats(_)) => browse::stats(p, ctx).await,
            None => {
                // Our prefix with data no release of ours writes: an old or forged button.
                ctx.answer(None).await?;
                ctx.send_text(MessageKind::Menu, texts::QUESTION_OUTDATED, Some(reopen_keyboard())).await?;
                Ok(())
            }
        };
    }
    match ctx.step_name() {
        Some(step) if ctx.command().is_none() => ask::answer(p, ctx, step).await,
        _ => list::open(p, ctx, None).await,
    }
}

/// The host dropped an expired v2 step.
pub async fn on_expired(p: &MyReports, ctx: &mut Ctx, expired: StepState) -> Result<(), HandlerError> {
    p.metrics.v2.timeouts.inc();
    p.metrics.v2.cancelled(expired.name, CancelledBy::Timeout);
    ctx.send_text(MessageKind::Menu, texts::STEP_EXPIRED, Some(reopen_keyboard())).await?;
    Ok(())
}

/// The user's list `snap`, or — after telling the user it is outdated and
/// ending any step — `None`.
async fn fresh_snapshot(p: &MyReports, ctx: &mut Ctx, snap: u64) -> Result<Option<Snapshot>, HandlerError> {
    match p.snapshots.get(ctx, snap).await? {
        Ok(s) => Ok(Some(s)),
        Err(stale) => {
            match stale {
                Stale::Expired(age_ms) => {
                    p.metrics.v2.timeouts.inc();
                    vox_plugin::tracing::warn!(
                        snap,
                        elapsed_secs = age_ms / 1000,
                        ttl_secs = p.config().snapshot_ttl_secs,
                        "list snapshot timed out"
                    );
                }
                Stale::Replaced => {
                    vox_plugin::tracing::info!(snap, "list snapshot replaced by a newer list");
                }
            }
            if ctx.step().is_some() {
                ctx.clear_step().await?;
            }
            ctx.answer(None).await?;
            let text = match stale {
                Stale::Expired(_) | Stale::Replaced => texts::list_outdated(p.config().snapshot_ttl_secs),
            };
            ctx.send_text(MessageKind::Menu, text, Some(reopen_keyboard())).await?;
            Ok(None)
        }
    }
}

/// The host ended a v2 dialogue on `/cancel` (and told the user): a repeat
/// press of the confirmation's button is then "already cancelled", as after
/// the "Отмена" button.
pub async fn on_cancelled(p: &MyReports, ctx: &mut Ctx, cancelled: StepState) -> Result<(), HandlerError> {
    p.metrics.v2.cancelled(cancelled.name, CancelledBy::Command);
    let number = serde_json::from_value::<StepData>(cancelled.data).ok().and_then(|d| d.number);
    if let Some(number) = number.filter(|_| crate::ids::steps::is_confirmation(Some(cancelled.name))) {
        confirm::mark_finished(ctx, number).await;
    }
    crate::telemetry::actions::Op::start("cancel", ctx.user().id).finish("command");
    Ok(())
}

async fn cancel(p: &MyReports, ctx: &mut Ctx) -> Result<(), HandlerError> {
    let data: Option<StepData> = ctx.step_data().ok().flatten();
    let confirming = crate::ids::steps::is_confirmation(ctx.step_name());
    if let Some(step) = ctx.step_name() {
        p.metrics.v2.cancelled(step, CancelledBy::Button);
    }
    if ctx.step().is_some() {
        ctx.clear_step().await?;
    }
    ctx.answer(Some("Отменено")).await?;
    if let Some(number) = data.as_ref().and_then(|d| d.number).filter(|_| confirming) {
        confirm::mark_finished(ctx, number).await;
    }
    let fresh = match data {
        Some(d) => p.snapshots.get(ctx, d.snap).await?.ok(),
        None => None,
    };
    let kb = match fresh {
        Some(s) => actions_keyboard(s.id),
        None => reopen_keyboard(),
    };
    ctx.send_text(MessageKind::Menu, texts::CANCELLED, Some(kb)).await?;
    crate::telemetry::actions::Op::start("cancel", ctx.user().id).finish("button");
    Ok(())
}
