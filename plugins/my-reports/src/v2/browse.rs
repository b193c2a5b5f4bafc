//! Long lists without the file: a sent list's numbers page by page in a
//! message (offered when it holds more than a hundred reports), with the
//! actions under each page; and the statistics of the user's reports — per
//! month, by search type, total size — as a text table and a PNG chart.

use std::collections::BTreeMap;

use vox_plugin::{Ctx, Document, HandlerError, MessageKind, tracing};

use super::fresh_snapshot;
use crate::MyReports;
use crate::telemetry::actions::Op;
use crate::view::keyboards::{page_keyboard, reopen_keyboard};
use crate::view::{chart, format, texts};

/// Reports on one page: with titles cut to 80 characters a page stays far
/// below Telegram's 4,096.
const PER_PAGE: usize = 25;
/// Months shown in the statistics, newest last.
const MONTHS: usize = 12;
/// The widest bar of the per-month table.
const BAR: usize = 20;

/// Page `page` of list `snap`: in place of the page pressed on (`in_place`),
/// or as a new message (the list's menu opens the first page).
pub(super) async fn page(
    p: &MyReports,
    ctx: &mut Ctx,
    snap: u64,
    page: u32,
    in_place: bool,
) -> Result<(), HandlerError> {
    let mut op = Op::start("page", ctx.user().id);
    let Some(snapshot) = fresh_snapshot(p, ctx, snap).await? else {
        op.finish("outdated");
        return Ok(());
    };
    ctx.answer(None).await?;
    let total = snapshot.entries.len();
    let pages = total.div_ceil(PER_PAGE).max(1) as u32;
    let page = page.min(pages - 1);
    let first = page as usize * PER_PAGE;
    let mut text = texts::page_heading(first + 1, (first + PER_PAGE).min(total), total);
    text.push('\n');
    for e in snapshot.entries.iter().skip(first).take(PER_PAGE) {
        text.push_str(&format!("\n№{}. {}", e.number, format::truncate(&e.title, 80)));
    }
    op.number(page + 1);
    let kb = page_keyboard(snap, page, pages);
    match ctx.callback_message_id().filter(|_| in_place) {
        Some(id) => ctx.edit_text(id, text, Some(kb)).await?,
        None => {
            ctx.send_text(MessageKind::Menu, text, Some(kb)).await?;
        }
    }
    op.finish("ok");
    Ok(())
}

/// The statistics of the user's reports as they are now.
pub(super) async fn stats(p: &MyReports, ctx: &mut Ctx) -> Result<(), HandlerError> {
    let op = Op::start("stats", ctx.user().id);
    ctx.answer(None).await?;
    let Some(reports) = super::list::user_reports(p, ctx).await? else {
        op.finish("storage_error");
        return Ok(());
    };
    if reports.is_empty() {
        ctx.send_text(MessageKind::Menu, texts::NO_REPORTS, Some(reopen_keyboard())).await?;
        op.finish("no_reports");
        return Ok(());
    }
    let total: u64 = reports.iter().map(|r| r.size_bytes).sum();
    let mut months: BTreeMap<String, usize> = BTreeMap::new();
    let mut kinds: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
    for r in &reports {
        *months.entry(r.timestamp.format("%Y-%m").to_string()).or_default() += 1;
        let kind = kinds.entry(format::search_type(&r.search_type)).or_default();
        kind.0 += 1;
        kind.1 += r.size_bytes;
    }
    // The last MONTHS months, oldest first: the table's rows and the chart's bars.
    let mut shown: Vec<(String, usize)> =
        months.iter().rev().take(MONTHS).map(|(m, n)| (m.clone(), *n)).collect();
    shown.reverse();
    let widest = shown.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let mut text = texts::stats_heading(reports.len(), &format::size(total));
    text.push_str("\n\nПо месяцам:");
    for (month, n) in &shown {
        let bar = "▇".repeat((n * BAR).div_ceil(widest));
        text.push_str(&format!("\n{month}  {bar} {n}"));
    }
    if months.len() > MONTHS {
        text.push_str(&format!("\n(и еще {} мес. раньше)", months.len() - MONTHS));
    }
    text.push_str("\n\nПо типу поиска:");
    for (kind, (n, bytes)) in &kinds {
        text.push_str(&format!("\n{kind}: {n}, {}", format::size(*bytes)));
    }
    // The same months as a chart; the table above already told everything, so a
    // chart Telegram refuses costs the user nothing but the picture.
    let png = chart::months(&shown);
    let caption = Some(texts::STATS_CHART.to_owned());
    if let Err(e) =
        ctx.send_photo(MessageKind::Info, Document::bytes("Статистика.png", png), caption, None).await
    {
        tracing::warn!(error = %e, "the statistics chart was not sent");
    }
    ctx.send_text(MessageKind::Menu, text, Some(reopen_keyboard())).await?;
    op.finish("ok");
    Ok(())
}
