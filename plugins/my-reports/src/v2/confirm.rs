//! Confirmed v2 actions — send, rename, delete — each under the user's lock,
//! each checked against the list's snapshot and the storage once more, so a
//! double press acts exactly once and never on the wrong report.

use std::time::Duration;

use vox_plugin::host::Lock;
use vox_plugin::{Ctx, HandlerError, MessageKind, tracing};

use super::StepData;
use crate::config::ReportsLock;
use crate::delivery::{self, Delivery};
use crate::ids::steps;
use crate::snapshot::Snapshots;
use crate::storage::{Deleted, Renamed, Report};
use crate::telemetry::actions::Op;
use crate::view::keyboards::{actions_keyboard, reopen_keyboard};
use crate::view::texts;
use crate::{MyReports, Storage};

/// "✅ Да" for report `number`.
pub(super) async fn apply(p: &MyReports, ctx: &mut Ctx, number: u32) -> Result<(), HandlerError> {
    let user = ctx.user().id;
    let step = ctx.step_name();
    let action = match step {
        Some(steps::VIEW_CONFIRM) => "view",
        Some(steps::RENAME_CONFIRM) => "rename",
        _ => "delete",
    };
    let mut op = Op::start(action, user);
    op.number(number);
    let data: Option<StepData> = ctx.step_data().ok().flatten();
    let confirming = steps::is_confirmation(step);
    let Some(data) = data.filter(|d| confirming && d.number == Some(number)) else {
        // The dialogue this button belonged to is over. Say "done" only when it
        // ended here, by this confirmation or a cancel; otherwise (it expired,
        // was replaced, or its state is gone) nothing was done — say so.
        if finished(ctx).await == Some(number) {
            ctx.answer(Some(texts::ALREADY_DONE)).await?;
            op.finish("already_done");
        } else {
            ctx.answer(None).await?;
            ctx.send_text(MessageKind::Menu, texts::QUESTION_OUTDATED, Some(reopen_keyboard())).await?;
            op.finish("question_outdated");
        }
        return Ok(());
    };
    // The list's age was checked when the number was typed; this step has its
    // own time-to-live. What is checked now is that the report is still there.
    let Some(expected) = picked_path(p, ctx, &data, number).await? else {
        op.finish("outdated");
        return Ok(());
    };
    let Some(user_lock) = lock(p, ctx).await else {
        ctx.answer_alert(texts::BUSY).await?;
        op.finish("busy");
        return Ok(());
    };
    // Taken before the dialogue ends, so a busy lock leaves the question to press again.
    let writes = step != Some(steps::VIEW_CONFIRM);
    let held = std::time::Instant::now();
    let Some((storage, writers)) = (if writes { writer(p, ctx).await } else { Some((p.storage(), None)) })
    else {
        ctx.answer_alert(texts::BUSY).await?;
        op.finish("busy");
        return Ok(());
    };
    let (_acting, overlapped) = p.acting.enter(user);
    if overlapped {
        p.metrics.v2.lock_overlaps.inc();
        tracing::error!(action, number, "two actions of one user ran at once: the user's lock did not hold");
    }
    check_pick(p, ctx, &data, action, number);
    // The dialogue ends here whatever happens next: a repeat press finds nothing to confirm.
    ctx.clear_step().await?;
    ctx.answer(None).await?;
    mark_finished(ctx, number).await;
    let outcome = match step {
        Some(steps::VIEW_CONFIRM) => view(p, ctx, number, &expected, data.snap).await?,
        Some(steps::RENAME_CONFIRM) => {
            let title = data.title.clone().unwrap_or_default();
            rename(p, ctx, storage, number, &expected, &title).await?
        }
        _ => delete(p, ctx, storage, number, &expected).await?,
    };
    op.finish(outcome);
    drop((writers, user_lock));
    tracing::debug!(held_ms = held.elapsed().as_millis() as u64, "user's lock released");
    Ok(())
}

/// The file of the report picked in this dialogue: kept in the step since the
/// pick (a dialogue from before that reads it off its list, whatever the
/// list's age); `None` after telling the user the question is outdated.
async fn picked_path(
    p: &MyReports,
    ctx: &mut Ctx,
    data: &StepData,
    number: u32,
) -> Result<Option<String>, HandlerError> {
    if let Some(path) = &data.path {
        return Ok(Some(path.clone()));
    }
    let listed = p.snapshots.current(ctx, data.snap).await?;
    match listed.and_then(|s| s.entry(number).map(|e| e.file_path.clone())) {
        Some(path) => Ok(Some(path)),
        None => {
            ctx.clear_step().await?;
            ctx.answer(None).await?;
            ctx.send_text(MessageKind::Menu, texts::QUESTION_OUTDATED, Some(reopen_keyboard())).await?;
            Ok(None)
        }
    }
}

/// Times the action from its list and checks the pick's post-condition: the
/// number was picked while its list was fresh. One picked later means the
/// timeout was not enforced — the plan's yellow trigger.
fn check_pick(p: &MyReports, ctx: &Ctx, data: &StepData, action: &str, number: u32) {
    let Some(list_at) = data.list_at_ms else { return };
    let now = Snapshots::now_ms(ctx);
    if let Some(h) = p.metrics.v2.list_to_action(action) {
        h.observe(now.saturating_sub(list_at) as f64 / 1000.0);
    }
    let ttl_ms = p.snapshots.ttl().as_millis() as u64;
    if let Some(picked) = data.picked_at_ms
        && picked.saturating_sub(list_at) > ttl_ms
    {
        p.metrics.v2.snapshot_timeout_violations.inc();
        tracing::warn!(
            action,
            number,
            list_age_at_pick_secs = picked.saturating_sub(list_at) / 1000,
            ttl_secs = ttl_ms / 1000,
            "a number was picked from a list older than its time-to-live: the timeout was not enforced"
        );
    }
}

/// The user's confirmation that ended last (acted on or cancelled): a repeat
/// press of its button is "already done", not "outdated".
const FINISHED: &str = "finished_confirmation";
/// As long as Telegram lets anyone press a button of a message the bot could still edit.
const FINISHED_KEPT: Duration = Duration::from_secs(48 * 3600);

/// Remembers that the confirmation of `number` ended (best effort: without
/// it a repeat press says "outdated", which is still true).
pub(super) async fn mark_finished(ctx: &Ctx, number: u32) {
    if let Err(e) = ctx.set_user_value(FINISHED, &number, FINISHED_KEPT).await {
        tracing::warn!(error = %e, "could not remember the finished confirmation");
    }
}

async fn finished(ctx: &Ctx) -> Option<u32> {
    ctx.user_value::<u32>(FINISHED).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not read the finished confirmation");
        None
    })
}

/// Takes the user's lock, counting a wait; `None` when the other operation outlasts it.
async fn lock(p: &MyReports, ctx: &Ctx) -> Option<Lock> {
    if let Some(l) = ctx.lock_user(Duration::ZERO).await {
        tracing::debug!(waited_ms = 0u64, fence = l.fence(), "user's lock acquired");
        return Some(l);
    }
    p.metrics.v2.lock_waits.inc();
    let started = std::time::Instant::now();
    let l = ctx.lock_user(p.lock_wait()).await;
    let waited_ms = started.elapsed().as_millis() as u64;
    match &l {
        Some(l) => tracing::debug!(waited_ms, fence = l.fence(), "user's lock acquired"),
        None => {
            p.metrics.v2.lock_busy.inc();
            tracing::warn!(waited_ms, "user's lock stayed busy");
        }
    }
    l
}

/// The store a rename or delete writes through, and the lock it writes under:
/// with `reports_lock = "shared"` the plugin's lock shared by every machine,
/// whose token the store fences writes by; with `local` none (the directory's
/// own `flock` is the lock). `None` when the shared lock stayed busy.
async fn writer(p: &MyReports, ctx: &Ctx) -> Option<(Storage, Option<Lock>)> {
    if p.config().reports_lock == ReportsLock::Local {
        return Some((p.storage(), None));
    }
    let started = std::time::Instant::now();
    let lock = ctx.lock_shared(REPORTS_LOCK, p.lock_wait()).await;
    let waited_ms = started.elapsed().as_millis() as u64;
    let Some(lock) = lock else {
        p.metrics.v2.lock_busy.inc();
        tracing::warn!(waited_ms, "the reports writers' shared lock stayed busy");
        return None;
    };
    tracing::debug!(fence = lock.fence(), waited_ms, "reports writers' shared lock acquired");
    Some((p.storage().with_fence(lock.fence()), Some(lock)))
}

/// The name of the reports directory's shared writers' lock.
const REPORTS_LOCK: &str = "reports";

/// The report as stored now, if it is still the one the list showed.
async fn current(
    p: &MyReports,
    ctx: &mut Ctx,
    number: u32,
    expected: &str,
) -> Result<Option<Report>, HandlerError> {
    let user = ctx.user().id;
    match p.storage().off(move |s| s.get_blocking(user, number)).await {
        Ok(Some(r)) if r.file_path == expected => Ok(Some(r)),
        Ok(_) => {
            ctx.send_text(MessageKind::Menu, texts::report_gone(number), Some(reopen_keyboard())).await?;
            Ok(None)
        }
        Err(e) => {
            tracing::error!(error = %e, "reading the report failed");
            ctx.send_text(MessageKind::Menu, texts::STORAGE_FAILED, Some(reopen_keyboard())).await?;
            Ok(None)
        }
    }
}

async fn view(
    p: &MyReports,
    ctx: &mut Ctx,
    number: u32,
    expected: &str,
    snap: u64,
) -> Result<&'static str, HandlerError> {
    let Some(report) = current(p, ctx, number, expected).await? else {
        p.metrics.v2.views.failed.inc();
        return Ok("report_gone");
    };
    let r = report.clone();
    let path = match p.storage().off(move |s| s.report_path_blocking(&r)).await {
        Ok(path) => path,
        Err(refusal) => {
            tracing::warn!(reason = %refusal, file_path = %report.file_path, "report file unavailable");
            p.metrics.v2.missing_files.inc();
            p.metrics.v2.views.failed.inc();
            ctx.send_text(MessageKind::Menu, texts::file_missing(&report.title), Some(reopen_keyboard()))
                .await?;
            return Ok("file_missing");
        }
    };
    let caption = texts::report_caption(number, &report.title);
    match delivery::send_file(ctx, &path, delivery::file_name(&report.file_path), caption, None).await {
        Delivery::Sent(bytes) => {
            p.metrics.v2.views.ok.inc();
            p.metrics.v2.report_file_bytes.observe(bytes as f64);
            ctx.send_text(MessageKind::Menu, texts::viewed(number), Some(actions_keyboard(snap))).await?;
            Ok("ok")
        }
        Delivery::Missing => {
            p.metrics.v2.missing_files.inc();
            p.metrics.v2.views.failed.inc();
            ctx.send_text(MessageKind::Menu, texts::file_missing(&report.title), Some(reopen_keyboard()))
                .await?;
            Ok("file_missing")
        }
        Delivery::TooLarge(bytes) => {
            p.metrics.v2.file_size_refusals.inc();
            p.metrics.v2.views.failed.inc();
            tracing::warn!(bytes, number, "report file over Telegram's upload limit");
            ctx.send_text(MessageKind::Menu, texts::file_too_large(number, bytes), Some(reopen_keyboard()))
                .await?;
            Ok("too_large")
        }
        Delivery::Failed(e) => {
            p.metrics.v2.views.failed.inc();
            Err(e.into())
        }
    }
}

async fn rename(
    p: &MyReports,
    ctx: &mut Ctx,
    storage: Storage,
    number: u32,
    expected: &str,
    title: &str,
) -> Result<&'static str, HandlerError> {
    let (user, expected, title) = (ctx.user().id, expected.to_owned(), title.to_owned());
    match storage.off(move |s| s.rename_blocking(user, number, &expected, &title)).await {
        Ok(Renamed::Renamed { new, .. }) => {
            p.metrics.v2.renames.ok.inc();
            ctx.send_text(MessageKind::Menu, texts::renamed(number, &new.title), Some(reopen_keyboard()))
                .await?;
            Ok("ok")
        }
        Ok(Renamed::NotFound) => {
            p.metrics.v2.renames.failed.inc();
            ctx.send_text(MessageKind::Menu, texts::report_gone(number), Some(reopen_keyboard())).await?;
            Ok("report_gone")
        }
        Err(e) => {
            p.metrics.v2.renames.failed.inc();
            tracing::error!(error = %e, number, "rename failed");
            ctx.send_text(MessageKind::Menu, texts::STORAGE_FAILED, Some(reopen_keyboard())).await?;
            Ok("storage_error")
        }
    }
}

async fn delete(
    p: &MyReports,
    ctx: &mut Ctx,
    storage: Storage,
    number: u32,
    expected: &str,
) -> Result<&'static str, HandlerError> {
    let user = ctx.user().id;
    let expected = expected.to_owned();
    match storage.off(move |s| s.delete_blocking(user, number, &expected)).await {
        Ok(Deleted::Deleted(report)) => {
            // The rollback trigger watches this: a delete must leave neither file nor entry.
            let entry_gone = matches!(p.storage().off(move |s| s.get_blocking(user, number)).await, Ok(None));
            let file_gone =
                !tokio::fs::try_exists(p.storage().dir().join(&report.file_path)).await.unwrap_or(true);
            if !(entry_gone && file_gone) {
                p.metrics.v2.delete_postcondition_failures.inc();
                ctx.report_failure("delete_postcondition");
                p.metrics.v2.deletes.failed.inc();
                tracing::error!(number, entry_gone, file_gone, "delete post-condition failed");
                ctx.send_text(MessageKind::Menu, texts::STORAGE_FAILED, Some(reopen_keyboard())).await?;
                return Ok("postcondition_failed");
            }
            p.metrics.v2.deletes.ok.inc();
            ctx.send_text(MessageKind::Menu, texts::deleted(number, &report.title), Some(reopen_keyboard()))
                .await?;
            Ok("ok")
        }
        Ok(Deleted::NotFound) => {
            p.metrics.v2.deletes.failed.inc();
            ctx.send_text(MessageKind::Menu, texts::report_gone(number), Some(reopen_keyboard())).await?;
            Ok("report_gone")
        }
        Err(e) => {
            p.metrics.v2.deletes.failed.inc();
            tracing::error!(error = %e, number, "delete failed");
            ctx.send_text(MessageKind::Menu, texts::STORAGE_FAILED, Some(reopen_keyboard())).await?;
            Ok("storage_error")
        }
    }
}
