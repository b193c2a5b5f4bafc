//! Making the v2 list: the TXT file (whole or filtered) with its action menu, a
//! new snapshot for its numbers, and the CSV / JSON exports of a list.

use vox_plugin::{Button, Ctx, Document, HandlerError, Keyboard, MessageKind, tracing};

use super::fresh_snapshot;
use crate::MyReports;
use crate::filter::Filter;
use crate::ids::{Export, Start, V2Button};
use crate::snapshot::SnapEntry;
use crate::storage::Report;
use crate::telemetry::actions::Op;
use crate::view::keyboards::{list_keyboard, reopen_keyboard};
use crate::view::{listing, texts};

/// Sends the user's list (all of it, or what `filter` lets through) and its menu.
pub(super) async fn open(p: &MyReports, ctx: &mut Ctx, filter: Option<Filter>) -> Result<(), HandlerError> {
    let user = ctx.user().id;
    let op = Op::start(if filter.is_some() { "filter" } else { "open" }, user);
    if filter.is_none() {
        p.metrics.v2.opens.inc();
    }
    if ctx.step().is_some() {
        // A new list starts over: whatever the user was doing refers to the old one.
        ctx.clear_step().await?;
    }
    ctx.answer(None).await?;
    let Some(mut reports) = user_reports(p, ctx).await? else {
        op.finish("storage_error");
        return Ok(());
    };
    if reports.is_empty() {
        let kb = Keyboard::new().row([Button::home("🏠 Главное меню")]);
        ctx.send_text(MessageKind::Menu, texts::NO_REPORTS, Some(kb)).await?;
        op.finish("no_reports");
        return Ok(());
    }
    if let Some(f) = &filter {
        reports.retain(|r| f.matches(r));
        if reports.is_empty() {
            ctx.send_text(MessageKind::Menu, texts::FILTER_EMPTY, Some(reopen_keyboard())).await?;
            op.finish("filter_empty");
            return Ok(());
        }
    }

    let entries = reports
        .iter()
        .map(|r| SnapEntry { number: r.number, file_path: r.file_path.clone(), title: r.title.clone() })
        .collect();
    let snapshot = p.snapshots.put(ctx, entries).await?;
    let generated = chrono::Local::now().format("%d.%m.%Y %H:%M").to_string();
    let heading = filter.as_ref().map(Filter::describe);
    let bytes = listing::txt(&ctx.user().name, &generated, heading.as_deref(), &reports);
    let size = bytes.len() as u64;
    if size > p.config().max_list_bytes {
        p.metrics.v2.list_size_refusals.inc();
        tracing::warn!(user, bytes = size, count = reports.len(), "list over the size limit, not sent");
        let kb = Keyboard::new()
            .row([Button::callback("🔎 Фильтр", V2Button::Start(Start::Filter, snapshot.id).data())])
            .row([Button::home(texts::BACK)]);
        ctx.send_text(MessageKind::Menu, texts::list_too_large(size), Some(kb)).await?;
        op.finish("too_large");
        return Ok(());
    }

    let caption = match &heading {
        Some(h) => texts::filtered_caption(reports.len(), h),
        None => texts::list_caption(reports.len()),
    };
    let document = Document::bytes("Мои_отчеты.txt", bytes);
    let list_message = match ctx.send_document(MessageKind::Info, document, Some(caption), None).await {
        Ok(id) => id,
        Err(e) => {
            // The rollback trigger watches undelivered lists.
            ctx.report_failure("list_not_delivered");
            op.finish("list_not_delivered");
            return Err(e.into());
        }
    };
    match p.snapshots.replace_list_message(ctx, list_message).await {
        // Old numbers must not be read off an old file; failing to delete is cosmetic.
        Ok(Some(previous)) => {
            if let Err(e) = ctx.delete(&[previous]).await {
                tracing::warn!(error = %e, "could not delete the previous list");
            }
        }
        Ok(None) => {}
        // The list is out; only the next list's cleanup of this one is lost.
        Err(e) => tracing::warn!(error = %e, "could not remember the list message"),
    }
    p.metrics.v2.lists_sent.inc();
    p.metrics.v2.list_bytes_total.add(size);
    p.metrics.v2.list_reports_total.add(reports.len() as u64);
    tracing::info!(user, bytes = size, count = reports.len(), snap = snapshot.id, "list sent");
    let menu = list_keyboard(snapshot.id, snapshot.entries.len());
    ctx.send_text(MessageKind::Menu, texts::V2_MENU, Some(menu)).await?;
    op.finish("ok");
    Ok(())
}

/// The user's reports, or `None` after telling the user the store failed —
/// counted against v2 and, when it is a canary's candidate, a rollback trigger.
pub(super) async fn user_reports(p: &MyReports, ctx: &mut Ctx) -> Result<Option<Vec<Report>>, HandlerError> {
    let user = ctx.user().id;
    match p.storage().off(move |s| s.list_blocking(user)).await {
        Ok(r) => Ok(Some(r)),
        Err(e) => {
            tracing::error!(error = %e, "listing reports failed");
            p.metrics.v2.open_failures.inc();
            ctx.report_failure("open_storage");
            ctx.send_text(MessageKind::Menu, texts::STORAGE_FAILED, Some(reopen_keyboard())).await?;
            Ok(None)
        }
    }
}

/// Sends the list `snap` as CSV or JSON, with today's titles.
pub(super) async fn export(
    p: &MyReports,
    ctx: &mut Ctx,
    format: Export,
    snap: u64,
) -> Result<(), HandlerError> {
    let user = ctx.user().id;
    let op = Op::start(if format == Export::Csv { "export_csv" } else { "export_json" }, user);
    let Some(snapshot) = fresh_snapshot(p, ctx, snap).await? else {
        op.finish("outdated");
        return Ok(());
    };
    ctx.answer(None).await?;
    let reports: Vec<Report> = match p.storage().off(move |s| s.list_blocking(user)).await {
        Ok(all) => all
            .into_iter()
            .filter(|r| snapshot.entry(r.number).is_some_and(|e| e.file_path == r.file_path))
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "listing reports failed");
            p.metrics.v2.exports.failed.inc();
            ctx.send_text(MessageKind::Menu, texts::STORAGE_FAILED, Some(reopen_keyboard())).await?;
            op.finish("storage_error");
            return Ok(());
        }
    };
    let (bytes, name) = match format {
        Export::Csv => (listing::csv(&reports), "Мои_отчеты.csv"),
        Export::Json => (listing::json(&reports), "Мои_отчеты.json"),
    };
    let size = bytes.len() as u64;
    if size > p.config().max_list_bytes {
        p.metrics.v2.list_size_refusals.inc();
        p.metrics.v2.exports.failed.inc();
        tracing::warn!(user, bytes = size, "export over the size limit, not sent");
        ctx.send_text(MessageKind::Menu, texts::list_too_large(size), Some(reopen_keyboard())).await?;
        op.finish("too_large");
        return Ok(());
    }
    let caption = texts::export_caption(reports.len());
    ctx.send_document(MessageKind::Info, Document::bytes(name, bytes), Some(caption), None).await?;
    p.metrics.v2.exports.ok.inc();
    tracing::info!(user, bytes = size, count = reports.len(), "export sent");
    op.finish("ok");
    Ok(())
}
