//! v1 — the legacy flow, kept for rollback, as VoxPersona had it: the last five
//! reports as buttons, "📋 Показать все" as a text list of the last ten, and
//! `send_report||<path>` sending one file — only ever one of the user's own.

use vox_plugin::{Button, Ctx, HandlerError, Keyboard, MessageKind, tracing};

use crate::MyReports;
use crate::delivery::{self, Delivery};
use crate::ids::{SEND_REPORT, SHOW_ALL_REPORTS, SHOW_MY_REPORTS};
use crate::storage::{PathRefusal, Report};
use crate::telemetry::actions::Op;
use crate::telemetry::metrics::VersionMetrics;
use crate::view::{format, texts};

/// Reports shown as buttons.
const RECENT: usize = 5;
/// Reports in the "show all" text.
const ALL: usize = 10;
/// Telegram's callback data limit, bytes.
const CALLBACK_MAX: usize = 64;

/// Serves v1: the menu, "show all", or one report's button.
pub async fn handle(p: &MyReports, ctx: &mut Ctx) -> Result<(), HandlerError> {
    let data = ctx.callback_data().map(str::to_owned);
    match data.as_deref() {
        Some(d) if d.starts_with(SEND_REPORT) => {
            send_report(p, ctx, &d[SEND_REPORT.len()..], &p.metrics.v1).await
        }
        Some(SHOW_ALL_REPORTS) => show_all(p, ctx).await,
        _ => show_recent(p, ctx).await,
    }
}

/// The user's reports, or `None` after telling the user the storage failed.
async fn list_or_say(p: &MyReports, ctx: &mut Ctx) -> Result<Option<Vec<Report>>, HandlerError> {
    let user = ctx.user().id;
    match p.storage().off(move |s| s.list_blocking(user)).await {
        Ok(reports) => Ok(Some(reports)),
        Err(e) => {
            tracing::error!(error = %e, "listing reports failed");
            // Counted against v1 and, when it is a canary's candidate, a rollback trigger.
            p.metrics.v1.open_failures.inc();
            ctx.report_failure("open_storage");
            ctx.answer(None).await?;
            ctx.send_text(MessageKind::Status, texts::STORAGE_FAILED, Some(back())).await?;
            Ok(None)
        }
    }
}

fn back() -> Keyboard {
    Keyboard::new().row([Button::home(texts::BACK)])
}

async fn show_recent(p: &MyReports, ctx: &mut Ctx) -> Result<(), HandlerError> {
    let op = Op::start("open", ctx.user().id);
    p.metrics.v1.opens.inc();
    let Some(reports) = list_or_say(p, ctx).await? else {
        op.finish("storage_error");
        return Ok(());
    };
    ctx.answer(None).await?;
    if reports.is_empty() {
        ctx.send_text(MessageKind::Menu, texts::NO_REPORTS, Some(back())).await?;
        op.finish("no_reports");
        return Ok(());
    }
    let mut kb = Keyboard::new();
    for r in reports.iter().take(RECENT) {
        let data = format!("{SEND_REPORT}{}", r.file_path);
        if data.len() > CALLBACK_MAX {
            // Such a path cannot ride in a button; the user still finds it in "show all".
            tracing::warn!(file_path = %r.file_path, "report path too long for a v1 button");
            continue;
        }
        let label = format!("📄 {} {}", format::date(&r.timestamp), format::truncate(&r.title, 40));
        kb = kb.row([Button::callback(label, data)]);
    }
    kb = kb.row([Button::callback(texts::V1_SHOW_ALL, SHOW_ALL_REPORTS)]).row([Button::home(texts::BACK)]);
    ctx.send_text(MessageKind::Menu, texts::V1_RECENT, Some(kb)).await?;
    op.finish("ok");
    Ok(())
}

async fn show_all(p: &MyReports, ctx: &mut Ctx) -> Result<(), HandlerError> {
    let op = Op::start("show_all", ctx.user().id);
    p.metrics.v1.legacy_callbacks.inc();
    let Some(reports) = list_or_say(p, ctx).await? else {
        op.finish("storage_error");
        return Ok(());
    };
    ctx.answer(None).await?;
    let kb = Keyboard::new()
        .row([Button::callback(texts::OPEN_LIST, SHOW_MY_REPORTS)])
        .row([Button::home(texts::BACK)]);
    if reports.is_empty() {
        ctx.send_text(MessageKind::Menu, texts::NO_REPORTS, Some(kb)).await?;
        op.finish("no_reports");
        return Ok(());
    }
    let total_bytes: u64 = reports.iter().map(|r| r.size_bytes).sum();
    let shown = reports.len().min(ALL);
    let mut text = texts::v1_all_header(shown, reports.len(), total_bytes);
    for (i, r) in reports.iter().take(ALL).enumerate() {
        text.push_str(&format!(
            "\n{}. {} — {} ({}, {})",
            i + 1,
            format::date_time(&r.timestamp),
            format::truncate(&r.title, 200),
            format::search_type(&r.search_type),
            format::size(r.size_bytes)
        ));
    }
    ctx.send_text(MessageKind::Menu, text, Some(kb)).await?;
    op.finish("ok");
    Ok(())
}

/// `send_report||<path>`: one of the user's own report files, after the path
/// checks. v2 serves these old buttons too once v1 is switched off (its legacy
/// shim), counting into its own `metrics`; both count them as legacy callbacks.
pub(crate) async fn send_report(
    p: &MyReports,
    ctx: &mut Ctx,
    rel: &str,
    metrics: &VersionMetrics,
) -> Result<(), HandlerError> {
    metrics.legacy_callbacks.inc();
    let user = ctx.user().id;
    let op = Op::start("view", user);
    let owned = rel.to_owned();
    let path = match p.storage().off(move |s| s.resolve_user_file_blocking(user, &owned)).await {
        Ok(path) => path,
        Err(refusal) => {
            if matches!(refusal, PathRefusal::Missing) {
                metrics.missing_files.inc();
                metrics.views.failed.inc();
                ctx.answer(None).await?;
                ctx.send_text(MessageKind::Status, texts::file_missing(rel), Some(back())).await?;
                op.finish("file_missing");
            } else {
                metrics.security_refusals.inc();
                tracing::warn!(security = true, user, path = rel, reason = %refusal, "refused a send_report path");
                ctx.answer_alert(texts::REPORT_UNAVAILABLE).await?;
                op.finish("refused");
            }
            return Ok(());
        }
    };
    ctx.answer(None).await?;
    let title = match p.storage().off(move |s| s.list_blocking(user)).await {
        Ok(reports) => reports.into_iter().find(|r| r.file_path == rel).map(|r| r.title),
        Err(_) => None,
    };
    let caption = format::truncate_units(title.as_deref().unwrap_or(delivery::file_name(rel)), 1024);
    match delivery::send_file(ctx, &path, delivery::file_name(rel), caption, None).await {
        Delivery::Sent(bytes) => {
            metrics.views.ok.inc();
            metrics.report_file_bytes.observe(bytes as f64);
            op.finish("ok");
        }
        Delivery::Missing => {
            metrics.missing_files.inc();
            metrics.views.failed.inc();
            ctx.send_text(
                MessageKind::Status,
                texts::file_missing(title.as_deref().unwrap_or(rel)),
                Some(back()),
            )
            .await?;
            op.finish("file_missing");
        }
        Delivery::TooLarge(bytes) => {
            metrics.file_size_refusals.inc();
            metrics.views.failed.inc();
            tracing::warn!(bytes, path = rel, "report file over Telegram's upload limit");
            ctx.send_text(MessageKind::Status, texts::file_too_large_plain(bytes), Some(back())).await?;
            op.finish("too_large");
        }
        Delivery::Failed(e) => {
            metrics.views.failed.inc();
            op.finish("failed");
            return Err(e.into());
        }
    }
    Ok(())
}
