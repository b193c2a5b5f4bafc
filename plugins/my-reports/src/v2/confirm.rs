//! Confirmed v2 actions — send, rename, delete — each under the user's lock,
//! each checked against the list's snapshot and the storage once more, so a
//! double press acts exactly once and never on the wrong report.

use std::time::Duration;

use vox_plugin::host::Lock;
use vox_plugin::{Ctx, HandlerError, MessageKind, tracing};

use super::{StepData, fresh_snapshot};
use crate::config::ReportsLock;
use crate::delivery::{self, Delivery};
use crate::ids::steps;
use crate::storage::{Deleted, Renamed, Report};
use crate::telemetry::actions::Op;
use crate::view::keyboards::{actions_keyboard, reopen_keyboard};
use crate::view::texts;
use crate::{MyReports, Storage};

/// "✅ Да" for report `number`.
pub(super) async fn apply(p: &MyReports, ctx: &mut Ctx, number: u32) -> Result<(), HandlerError> {
    let user = ctx.user().id;
    let mut op = Op::start("v2_confirm", user);
    op.number(number);
    let step = ctx.step_name();
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
    let Some(snapshot) = fresh_snapshot(p, ctx, data.snap).await? else {
        op.finish("outdated");
        return Ok(());
    };
    let Some(_lock) = lock(p, ctx).await else {
        ctx.answer_alert(texts::BUSY).await?;
        op.finish("busy");
        return Ok(());
    };
    // Taken before the dialogue ends, so a busy lock leaves the question to press again.
    let writes = step != Some(steps::VIEW_CONFIRM);
    let Some((storage, _writers)) = (if writes { writer(p, ctx).await } else { Some((p.storage(), None)) })
    else {
        ctx.answer_alert(texts::BUSY).await?;
        op.finish("busy");
        return Ok(());
    };
    let Some(expected) = snapshot.entry(number).map(|e| e.file_path.clone()) else {
        return Err(HandlerError::msg("confirmed number missing from its snapshot"));
    };
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
    Ok(())
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
        return Some(l);
    }
    p.metrics.lock_waits.inc();
    let l = ctx.lock_user(p.lock_wait()).await;
    if l.is_none() {
        p.metrics.lock_busy.inc();
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
        p.metrics.lock_busy.inc();
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
        p.metrics.views.failed.inc();
        return Ok("report_gone");
    };
    let r = report.clone();
    let path = match p.storage().off(move |s| s.report_path_blocking(&r)).await {
        Ok(path) => path,
        Err(refusal) => {
            tracing::warn!(reason = %refusal, file_path = %report.file_path, "report file unavailable");
            p.metrics.missing_files.inc();
            p.metrics.views.failed.inc();
            ctx.send_text(MessageKind::Menu, texts::file_missing(&report.title), Some(reopen_keyboard()))
                .await?;
            return Ok("file_missing");
        }
    };
    let caption = texts::report_caption(number, &report.title);
    match delivery::send_file(ctx, &path, delivery::file_name(&report.file_path), caption, None).await {
        Delivery::Sent => {
            p.metrics.views.ok.inc();
            ctx.send_text(MessageKind::Menu, texts::viewed(number), Some(actions_keyboard(snap))).await?;
            Ok("ok")
        }
        Delivery::Missing => {
            p.metrics.missing_files.inc();
            p.metrics.views.failed.inc();
            ctx.send_text(MessageKind::Menu, texts::file_missing(&report.title), Some(reopen_keyboard()))
                .await?;
            Ok("file_missing")
        }
        Delivery::TooLarge(bytes) => {
            p.metrics.size_refusals.inc();
            p.metrics.views.failed.inc();
            tracing::warn!(bytes, number, "report file over Telegram's upload limit");
            ctx.send_text(MessageKind::Menu, texts::file_too_large(number, bytes), Some(reopen_keyboard()))
                .await?;
            Ok("too_large")
        }
        Delivery::Failed(e) => {
            p.metrics.views.failed.inc();
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
            p.metrics.renames.ok.inc();
            ctx.send_text(MessageKind::Menu, texts::renamed(number, &new.title), Some(reopen_keyboard()))
                .await?;
            Ok("ok")
        }
        Ok(Renamed::NotFound) => {
            p.metrics.renames.failed.inc();
            ctx.send_text(MessageKind::Menu, texts::report_gone(number), Some(reopen_keyboard())).await?;
            Ok("report_gone")
        }
        Err(e) => {
            p.metrics.renames.failed.inc();
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
                p.metrics.delete_postcondition_failures.inc();
                ctx.report_failure("delete_postcondition");
                p.metrics.deletes.failed.inc();
                tracing::error!(number, entry_gone, file_gone, "delete post-condition failed");
                ctx.send_text(MessageKind::Menu, texts::STORAGE_FAILED, Some(reopen_keyboard())).await?;
                return Ok("postcondition_failed");
            }
            p.metrics.deletes.ok.inc();
            ctx.send_text(MessageKind::Menu, texts::deleted(number, &report.title), Some(reopen_keyboard()))
                .await?;
            Ok("ok")
        }
        Ok(Deleted::NotFound) => {
            p.metrics.deletes.failed.inc();
            ctx.send_text(MessageKind::Menu, texts::report_gone(number), Some(reopen_keyboard())).await?;
            Ok("report_gone")
        }
        Err(e) => {
            p.metrics.deletes.failed.inc();
            tracing::error!(error = %e, number, "delete failed");
            ctx.send_text(MessageKind::Menu, texts::STORAGE_FAILED, Some(reopen_keyboard())).await?;
            Ok("storage_error")
        }
    }
}
