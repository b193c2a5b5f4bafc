//! v2 — the new flow: a numbered TXT list with an action menu; the user picks
//! an action, types a number, confirms; every step can be cancelled and every
//! number is checked against the list the user actually got.
//!
//! `v2/list.rs` makes lists and exports, `v2/ask.rs` takes typed answers,
//! `v2/confirm.rs` applies confirmed actions under the user's lock.

mod ask;
mod confirm;
mod list;

use serde::{Deserialize, Serialize};
use vox_plugin::{Button, Ctx, HandlerError, Keyboard, MessageKind, StateKey, StepState};

use crate::snapshot::{Snapshot, Stale};
use crate::texts::{self, Action};
use crate::{MyReports, SHOW_MY_REPORTS};

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
}

/// What a step is started for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Action(Action),
    Filter,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Export {
    Csv,
    Json,
}

/// A v2 button, parsed from its callback data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V2Button {
    Start(Start, u64),
    Export(Export, u64),
    Yes(u32),
    Cancel,
}

const VIEW: &str = "report_view:";
const RENAME: &str = "report_rename:";
const DELETE: &str = "report_delete:";
const FILTER: &str = "report_filter:";
const CSV: &str = "report_csv:";
const JSON: &str = "report_json:";
const YES: &str = "report_yes:";
const CANCEL: &str = "report_cancel";

fn parse_button(data: &str) -> Option<V2Button> {
    let with = |prefix: &str| data.strip_prefix(prefix).and_then(|rest| rest.parse::<u64>().ok());
    if let Some(s) = with(VIEW) {
        return Some(V2Button::Start(Start::Action(Action::View), s));
    }
    if let Some(s) = with(RENAME) {
        return Some(V2Button::Start(Start::Action(Action::Rename), s));
    }
    if let Some(s) = with(DELETE) {
        return Some(V2Button::Start(Start::Action(Action::Delete), s));
    }
    if let Some(s) = with(FILTER) {
        return Some(V2Button::Start(Start::Filter, s));
    }
    if let Some(s) = with(CSV) {
        return Some(V2Button::Export(Export::Csv, s));
    }
    if let Some(s) = with(JSON) {
        return Some(V2Button::Export(Export::Json, s));
    }
    if let Some(n) = data.strip_prefix(YES).and_then(|rest| rest.parse::<u32>().ok()) {
        return Some(V2Button::Yes(n));
    }
    (data == CANCEL).then_some(V2Button::Cancel)
}

/// Serves v2.
pub async fn handle(p: &MyReports, ctx: &mut Ctx) -> Result<(), HandlerError> {
    if let Some(data) = ctx.callback_data().map(str::to_owned) {
        if data == SHOW_MY_REPORTS {
            return list::open(p, ctx, None).await;
        }
        return match parse_button(&data) {
            Some(V2Button::Start(start, snap)) => ask::start(p, ctx, start, snap).await,
            Some(V2Button::Export(format, snap)) => list::export(p, ctx, format, snap).await,
            Some(V2Button::Yes(number)) => confirm::apply(p, ctx, number).await,
            Some(V2Button::Cancel) => cancel(p, ctx).await,
            None => {
                ctx.answer(Some(texts::ALREADY_DONE)).await?;
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
pub async fn on_expired(p: &MyReports, ctx: &mut Ctx, _expired: StepState) -> Result<(), HandlerError> {
    p.metrics.timeouts.inc();
    ctx.send_text(MessageKind::Menu, texts::STEP_EXPIRED, Some(reopen_keyboard())).await?;
    Ok(())
}

fn key(ctx: &Ctx) -> StateKey {
    StateKey { chat: ctx.chat_id(), user: ctx.user().id }
}

/// The menu under a list.
fn actions_keyboard(snap: u64) -> Keyboard {
    Keyboard::new()
        .row([
            Button::callback("👁️ Посмотреть", format!("{VIEW}{snap}")),
            Button::callback("✏️ Переименовать", format!("{RENAME}{snap}")),
        ])
        .row([Button::callback("🗑️ Удалить", format!("{DELETE}{snap}"))])
        .row([
            Button::callback("🔎 Фильтр", format!("{FILTER}{snap}")),
            Button::callback("📤 CSV", format!("{CSV}{snap}")),
            Button::callback("📤 JSON", format!("{JSON}{snap}")),
        ])
        .row([Button::home(texts::BACK)])
}

/// "Open the list again" and "back".
fn reopen_keyboard() -> Keyboard {
    Keyboard::new()
        .row([Button::callback(texts::OPEN_LIST, SHOW_MY_REPORTS)])
        .row([Button::home(texts::BACK)])
}

fn cancel_keyboard() -> Keyboard {
    Keyboard::new().row([Button::callback(texts::CANCEL, CANCEL)])
}

fn confirm_keyboard(number: u32, yes: &str) -> Keyboard {
    Keyboard::new()
        .row([Button::callback(yes, format!("{YES}{number}")), Button::callback(texts::CANCEL, CANCEL)])
}

/// The user's list `snap`, or — after telling the user it is outdated and
/// ending any step — `None`.
async fn fresh_snapshot(
    p: &MyReports,
    ctx: &mut Ctx,
    snap: u64,
) -> Result<Option<std::sync::Arc<Snapshot>>, HandlerError> {
    match p.snapshots.get(key(ctx), snap, ctx.now()) {
        Ok(s) => Ok(Some(s)),
        Err(stale) => {
            p.metrics.timeouts.inc();
            vox_plugin::tracing::info!(user = ctx.user().id, snap, stale = ?stale, "list snapshot no longer valid");
            if ctx.step().is_some() {
                ctx.clear_step().await?;
            }
            ctx.answer(None).await?;
            let text = match stale {
                Stale::Expired | Stale::Replaced => texts::list_outdated(p.config().snapshot_ttl_secs),
            };
            ctx.send_text(MessageKind::Menu, text, Some(reopen_keyboard())).await?;
            Ok(None)
        }
    }
}

async fn cancel(p: &MyReports, ctx: &mut Ctx) -> Result<(), HandlerError> {
    let data: Option<StepData> = ctx.step_data().ok().flatten();
    if ctx.step().is_some() {
        ctx.clear_step().await?;
    }
    ctx.answer(Some("Отменено")).await?;
    let fresh = data.and_then(|d| p.snapshots.get(key(ctx), d.snap, ctx.now()).ok());
    let kb = match fresh {
        Some(s) => actions_keyboard(s.id),
        None => reopen_keyboard(),
    };
    ctx.send_text(MessageKind::Menu, texts::CANCELLED, Some(kb)).await?;
    crate::ops::Op::start("v2_cancel", ctx.user().id).finish("ok");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_parse_and_garbage_does_not() {
        assert_eq!(parse_button("report_view:7"), Some(V2Button::Start(Start::Action(Action::View), 7)));
        assert_eq!(parse_button("report_filter:1"), Some(V2Button::Start(Start::Filter, 1)));
        assert_eq!(parse_button("report_json:3"), Some(V2Button::Export(Export::Json, 3)));
        assert_eq!(parse_button("report_yes:12"), Some(V2Button::Yes(12)));
        assert_eq!(parse_button("report_cancel"), Some(V2Button::Cancel));
        assert_eq!(parse_button("report_view"), None, "a button without its list");
        assert_eq!(parse_button("report_yes:-1"), None);
        assert_eq!(parse_button("report_unknown:1"), None);
    }
}
