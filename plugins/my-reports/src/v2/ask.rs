//! Typed answers in v2's steps: which report (by number), its new title, a
//! filter. Wrong answers get a precise reason and a retry, until too many.

use vox_plugin::{Ctx, HandlerError, MessageKind, tracing};

use super::{StepData, fresh_snapshot, list};
use crate::ids::{Action, Start, steps};
use crate::input::{self, NumberError, TitleError};
use crate::snapshot::{Snapshot, Snapshots};
use crate::telemetry::actions::Op;
use crate::view::keyboards::{cancel_keyboard, confirm_keyboard, reopen_keyboard};
use crate::view::texts;
use crate::{MyReports, filter};

/// A v2 action button: starts its step.
pub(super) async fn start(p: &MyReports, ctx: &mut Ctx, start: Start, snap: u64) -> Result<(), HandlerError> {
    let Some(snapshot) = fresh_snapshot(p, ctx, snap).await? else {
        Op::start("start", ctx.user().id).finish("outdated");
        return Ok(());
    };
    ctx.answer(None).await?;
    let data = StepData { snap, ..StepData::default() };
    let (step, prompt) = match start {
        Start::Action(Action::View) => {
            (steps::VIEW_ASK_NUMBER, texts::ask_number(Action::View, snapshot.max_number()))
        }
        Start::Action(Action::Rename) => {
            (steps::RENAME_ASK_NUMBER, texts::ask_number(Action::Rename, snapshot.max_number()))
        }
        Start::Action(Action::Delete) => {
            (steps::DELETE_ASK_NUMBER, texts::ask_number(Action::Delete, snapshot.max_number()))
        }
        Start::Filter => (steps::FILTER_ASK, texts::ASK_FILTER.to_owned()),
    };
    ctx.set_step(step, &data).await?;
    ctx.send_text(MessageKind::InputRequest, prompt, Some(cancel_keyboard())).await?;
    Ok(())
}

/// A message while a v2 step waits.
pub(super) async fn answer(p: &MyReports, ctx: &mut Ctx, step: &'static str) -> Result<(), HandlerError> {
    let Some(text) = ctx.text().map(str::to_owned) else {
        ctx.send_text(MessageKind::Status, texts::SEND_TEXT, None).await?;
        return Ok(());
    };
    let data: StepData = ctx.step_data()?.unwrap_or_default();
    // The list's time-to-live is checked when the number is typed; the steps
    // after it run on their own time-to-live (the plan's confirmation rule).
    if step == steps::RENAME_ASK_NEW_NAME {
        return new_title(p, ctx, data, &text).await;
    }
    if steps::is_confirmation(Some(step)) {
        // A confirmation waits for a button, not for text.
        ctx.send_text(MessageKind::Status, "Нажмите «✅ Да» или «❌ Отмена» под вопросом.", None).await?;
        return Ok(());
    }
    let Some(snapshot) = fresh_snapshot(p, ctx, data.snap).await? else {
        Op::start("answer", ctx.user().id).finish("outdated");
        return Ok(());
    };
    match step {
        steps::VIEW_ASK_NUMBER => number(p, ctx, data, &snapshot, &text, Action::View).await,
        steps::RENAME_ASK_NUMBER => number(p, ctx, data, &snapshot, &text, Action::Rename).await,
        steps::DELETE_ASK_NUMBER => number(p, ctx, data, &snapshot, &text, Action::Delete).await,
        steps::FILTER_ASK => match filter::parse(&text) {
            Ok(f) => {
                ctx.clear_step().await?;
                list::open(p, ctx, Some(f)).await
            }
            Err(e) => {
                let detail = match e {
                    filter::FilterError::Empty => "пустой запрос".to_owned(),
                    filter::FilterError::BadDate(d) => format!("нет такой даты «{d}»"),
                    filter::FilterError::Reversed => "конец периода раньше начала".to_owned(),
                };
                wrong(p, ctx, data, step, texts::bad_filter(&detail)).await
            }
        },
        other => Err(HandlerError::msg(format!("v2 step {other} takes no typed answer"))),
    }
}

async fn number(
    p: &MyReports,
    ctx: &mut Ctx,
    data: StepData,
    snapshot: &Snapshot,
    text: &str,
    action: Action,
) -> Result<(), HandlerError> {
    let step = ctx.step_name().unwrap_or(steps::VIEW_ASK_NUMBER);
    let max = snapshot.max_number();
    let number = match input::parse_number(text) {
        Ok(n) => n,
        Err(NumberError::NotANumber) => return wrong(p, ctx, data, step, texts::not_a_number(text)).await,
        Err(NumberError::OutOfRange) => return wrong(p, ctx, data, step, texts::out_of_range(max)).await,
    };
    let Some(entry) = snapshot.entry(number) else {
        return wrong(p, ctx, data, step, texts::not_in_list(number, max)).await;
    };
    let mut op = Op::start("choose", ctx.user().id);
    op.number(number);
    // The list is a snapshot: make sure the report is still the one it showed.
    let user = ctx.user().id;
    let current = match p.storage().off(move |s| s.get_blocking(user, number)).await {
        Ok(Some(r)) if r.file_path == entry.file_path => r,
        Ok(_) => {
            ctx.clear_step().await?;
            ctx.send_text(MessageKind::Menu, texts::report_gone(number), Some(reopen_keyboard())).await?;
            op.finish("report_gone");
            return Ok(());
        }
        Err(e) => {
            tracing::error!(error = %e, "reading the report failed");
            ctx.clear_step().await?;
            ctx.send_text(MessageKind::Menu, texts::STORAGE_FAILED, Some(reopen_keyboard())).await?;
            op.finish("storage_error");
            return Ok(());
        }
    };
    let next = StepData {
        snap: data.snap,
        tries: 0,
        number: Some(number),
        title: None,
        path: Some(current.file_path.clone()),
        shown_title: Some(current.title.clone()),
        list_at_ms: Some(snapshot.taken_at_ms()),
        picked_at_ms: Some(Snapshots::now_ms(ctx)),
    };
    match action {
        Action::View => {
            ctx.set_step(steps::VIEW_CONFIRM, &next).await?;
            let kb = confirm_keyboard(number, "✅ Да, прислать");
            ctx.send_text(MessageKind::Confirmation, texts::confirm_view(number, &current.title), Some(kb))
                .await?;
        }
        Action::Rename => {
            ctx.set_step(steps::RENAME_ASK_NEW_NAME, &next).await?;
            let prompt = texts::ask_new_title(number, &current.title);
            ctx.send_text(MessageKind::InputRequest, prompt, Some(cancel_keyboard())).await?;
        }
        Action::Delete => {
            ctx.set_step(steps::DELETE_CONFIRM, &next).await?;
            let kb = confirm_keyboard(number, "✅ Да, удалить");
            ctx.send_text(MessageKind::Confirmation, texts::confirm_delete(number, &current.title), Some(kb))
                .await?;
        }
    }
    op.finish("asked_confirmation");
    Ok(())
}

async fn new_title(p: &MyReports, ctx: &mut Ctx, data: StepData, text: &str) -> Result<(), HandlerError> {
    let step = steps::RENAME_ASK_NEW_NAME;
    let title = match input::parse_title(text) {
        Ok(t) => t,
        Err(TitleError::Empty) => return wrong(p, ctx, data, step, texts::TITLE_EMPTY.to_owned()).await,
        Err(TitleError::ControlCharacters) => {
            return wrong(p, ctx, data, step, texts::TITLE_CONTROL.to_owned()).await;
        }
        Err(TitleError::TooLong(n)) => return wrong(p, ctx, data, step, texts::title_too_long(n)).await,
    };
    let Some(number) = data.number else {
        return Err(HandlerError::msg("rename step without a report number"));
    };
    let old = match &data.shown_title {
        Some(t) => t.clone(),
        // A dialogue from before the title was kept in it: the list has it.
        None => match p.snapshots.current(ctx, data.snap).await? {
            Some(s) => s.entry(number).map(|e| e.title.clone()).unwrap_or_default(),
            None => String::new(),
        },
    };
    let next = StepData { title: Some(title.clone()), tries: 0, ..data };
    ctx.set_step(steps::RENAME_CONFIRM, &next).await?;
    let kb = confirm_keyboard(number, "✅ Да, переименовать");
    ctx.send_text(MessageKind::Confirmation, texts::confirm_rename(number, &old, &title), Some(kb)).await?;
    Ok(())
}

/// A wrong answer: say why and ask again, or give up after too many.
async fn wrong(
    p: &MyReports,
    ctx: &mut Ctx,
    mut data: StepData,
    step: &'static str,
    why: String,
) -> Result<(), HandlerError> {
    p.metrics.v2.invalid_inputs.inc();
    data.tries += 1;
    let max = p.config().max_wrong_inputs;
    if data.tries >= max {
        ctx.clear_step().await?;
        ctx.send_text(
            MessageKind::Menu,
            format!("{why}\n\n{}", texts::TOO_MANY_TRIES),
            Some(reopen_keyboard()),
        )
        .await?;
        Op::start("answer", ctx.user().id).finish("too_many_tries");
        return Ok(());
    }
    ctx.set_step(step, &data).await?;
    let text = format!("{why}\n{}", texts::tries_left(max - data.tries));
    ctx.send_text(MessageKind::InputRequest, text, Some(cancel_keyboard())).await?;
    Op::start("answer", ctx.user().id).finish("invalid_input");
    Ok(())
}
