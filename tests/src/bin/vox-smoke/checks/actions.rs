//! Checks 5, 6 and 7, each with its own user: open the list, press the action,
//! type a report's number (and, to rename, the new title), confirm — then look
//! at what arrived (view) or at the files on disk (rename, delete). Each run
//! also records whether the confirmation came before anything was done (for
//! check 8) and which prompts and confirmations the bot sent (for check 9).

use vox_fake_bot_api::{BotMessage, ScriptedUser};

use crate::checks::flow;
use crate::checks::{Ctx, users};
use crate::index::Entry;
use crate::outcome::{CheckResult, attempt};

/// The new title check 6 gives a report.
pub const NEW_TITLE: &str = "Итоги встречи (переименовано смоук-проверкой)";

/// Which action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Check 5.
    View,
    /// Check 6.
    Rename,
    /// Check 7.
    Delete,
}

impl Action {
    /// Its name in output lines.
    pub fn name(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Rename => "rename",
            Action::Delete => "delete",
        }
    }
}

/// What one action's run left for checks 8 and 9.
#[derive(Debug, Clone)]
pub struct ActionRun {
    /// Which action.
    pub action: Action,
    /// Check 5, 6 or 7.
    pub result: CheckResult,
    /// For check 8: `Ok(what was asked)` when a confirmation came before acting.
    pub confirmation: Result<String, String>,
    /// For check 9: the prompts and confirmations the bot sent (id, first line).
    pub transient: Vec<(i32, String)>,
    /// Whether the run got as far as pressing the confirmation's yes button.
    pub acted: bool,
}

/// Runs checks 5, 6 and 7.
pub async fn run(ctx: &Ctx) -> Vec<ActionRun> {
    let mut runs = Vec::new();
    for (action, chat, name) in [
        (Action::View, users::VIEW, "Смоук-Просмотр"),
        (Action::Rename, users::RENAME, "Смоук-Переименование"),
        (Action::Delete, users::DELETE, "Смоук-Удаление"),
    ] {
        runs.push(one(ctx, action, ctx.api.user(chat, name)).await);
    }
    runs
}

/// Per-action texts: the button, the prompt, the confirmation and its yes button.
struct Script {
    button: &'static str,
    prompt: &'static str,
    confirm: fn(&Entry) -> String,
    yes: &'static str,
}

fn script(action: Action) -> Script {
    match action {
        Action::View => Script {
            button: "Посмотреть",
            prompt: "Какой отчет прислать?",
            confirm: |e| format!("Прислать отчет №{} «{}»?", e.number, e.title),
            yes: "Да, прислать",
        },
        Action::Rename => Script {
            button: "Переименовать",
            prompt: "Какой отчет переименовать?",
            confirm: |e| format!("«{}» → «{NEW_TITLE}»", e.title),
            yes: "Да, переименовать",
        },
        Action::Delete => Script {
            button: "Удалить",
            prompt: "Какой отчет удалить?",
            confirm: |e| format!("Удалить отчет №{} «{}»?", e.number, e.title),
            yes: "Да, удалить",
        },
    }
}

async fn one(ctx: &Ctx, action: Action, mut user: ScriptedUser) -> ActionRun {
    let chat = user.chat_id();
    let mut run = ActionRun {
        action,
        result: CheckResult { number: 5 + action as usize, verdict: Err(String::new()), chat: Some(chat) },
        confirmation: Err(format!("{}: the flow did not reach its confirmation", action.name())),
        transient: Vec::new(),
        acted: false,
    };
    run.result.verdict = drive(ctx, action, &mut user, &mut run).await;
    run
}

async fn drive(
    ctx: &Ctx,
    action: Action,
    user: &mut ScriptedUser,
    run: &mut ActionRun,
) -> Result<String, String> {
    let chat = user.chat_id();
    let seeded = ctx.reports.of(chat)?;
    let target = flow::pick(&seeded)?;
    let s = script(action);
    let opened = flow::open_list(user).await?;
    let asked_from = ctx.api.call_count();
    let confirmation: BotMessage = attempt(async {
        user.press(s.button);
        run.transient.push(note(&user.expect_text(s.prompt).await));
        user.send_text(&target.number.to_string());
        if action == Action::Rename {
            let prompt = format!("Введите новое название для отчета №{}", target.number);
            run.transient.push(note(&user.expect_text(&prompt).await));
            user.send_text(NEW_TITLE);
        }
        let confirmation = user.expect_text(&(s.confirm)(&target)).await;
        run.transient.push(note(&confirmation));
        Ok(confirmation)
    })
    .await
    .map_err(|e| {
        let said = flow::said_since(&ctx.api, chat, asked_from);
        let hint = flow::ttl_hint(ctx.snapshot_ttl, &opened, &said);
        format!("{} of №{}: {e}; the bot said {said}{hint}", action.name(), target.number)
    })?;
    run.confirmation = nothing_done_yet(ctx, action, chat, asked_from, &target, &confirmation, s.yes);
    let acted_from = ctx.api.call_count();
    attempt(async { Ok(user.press(s.yes)) }).await?;
    run.acted = true;
    let done = match action {
        Action::View => viewed(ctx, user, &target).await,
        Action::Rename => renamed(ctx, user, &target).await,
        Action::Delete => deleted(ctx, user, &target, seeded.len()).await,
    };
    done.map_err(|e| {
        let said = flow::said_since(&ctx.api, chat, acted_from);
        format!(
            "{e}; after «{}» the bot said {said}{}",
            s.yes,
            flow::ttl_hint(ctx.snapshot_ttl, &opened, &said)
        )
    })
}

fn note(message: &BotMessage) -> (i32, String) {
    (message.id, flow::first_line(message))
}

/// For check 8: the confirmation has yes/cancel buttons and, when it came, nothing was done yet.
fn nothing_done_yet(
    ctx: &Ctx,
    action: Action,
    chat: i64,
    asked_from: usize,
    target: &Entry,
    confirmation: &BotMessage,
    yes: &str,
) -> Result<String, String> {
    let name = action.name();
    if confirmation.button(yes).is_none() || confirmation.button("Отмена").is_none() {
        return Err(format!(
            "{name}: the confirmation lacks «{yes}» / «Отмена»: {:?}",
            confirmation.button_labels()
        ));
    }
    match action {
        Action::View => {
            let sent = flow::documents_since(&ctx.api, chat, asked_from);
            if sent > 0 {
                return Err(format!("view: {sent} document(s) sent before the confirmation was answered"));
            }
        }
        Action::Rename => match ctx.reports.find(chat, target.number)? {
            Some(e) if e.title == target.title => {}
            other => {
                return Err(format!(
                    "rename: the index changed before confirming: {:?}",
                    other.map(|e| e.title)
                ));
            }
        },
        Action::Delete => {
            if ctx.reports.find(chat, target.number)?.is_none() || !ctx.reports.file(target).exists() {
                return Err(format!("delete: №{} was gone from disk before confirming", target.number));
            }
        }
    }
    Ok(format!("{name} «{}»", flow::short(&flow::first_line(confirmation), 32)))
}

/// 5: the report's file arrives, byte for byte as on disk.
async fn viewed(ctx: &Ctx, user: &mut ScriptedUser, target: &Entry) -> Result<String, String> {
    let n = target.number;
    let doc = attempt(async { Ok(user.expect_document().await) })
        .await
        .map_err(|e| format!("expected report №{n}'s file after confirming: {e}"))?;
    let on_disk =
        std::fs::read(ctx.reports.file(target)).map_err(|e| format!("reading {}: {e}", target.file_path))?;
    if doc.bytes != on_disk {
        return Err(format!(
            "expected {} ({} bytes on disk), got {:?} ({} bytes) with other content",
            target.file_path,
            on_disk.len(),
            doc.file_name,
            doc.bytes.len()
        ));
    }
    if !doc.caption.as_deref().is_some_and(|c| c.contains(&format!("№{n}"))) {
        return Err(format!("expected the caption to name №{n}, got {:?}", doc.caption));
    }
    attempt(async { Ok(user.expect_text(&format!("Отчет №{n} отправлен")).await) }).await?;
    Ok(format!("№{n} «{}»: {}, {} bytes, same as on disk", target.title, doc.file_name, doc.bytes.len()))
}

/// 6: the index has the new title, every other field as before, the file untouched.
async fn renamed(ctx: &Ctx, user: &mut ScriptedUser, target: &Entry) -> Result<String, String> {
    let n = target.number;
    attempt(async { Ok(user.expect_text(&format!("Отчет №{n} переименован")).await) }).await?;
    let after = ctx
        .reports
        .find(user.chat_id(), n)?
        .ok_or_else(|| format!("expected №{n} renamed in index.json, its entry is gone"))?;
    if after.title != NEW_TITLE {
        return Err(format!("expected question «{NEW_TITLE}» in index.json, found «{}»", after.title));
    }
    let mut changed = Vec::new();
    if let (Some(before), Some(now)) = (target.raw.as_object(), after.raw.as_object()) {
        for (key, value) in before {
            if key != "question" && now.get(key) != Some(value) {
                changed.push(key.clone());
            }
        }
    }
    if !changed.is_empty() {
        return Err(format!("only the title may change, but {changed:?} changed too"));
    }
    if !ctx.reports.file(&after).exists() {
        return Err(format!("the file {} disappeared", after.file_path));
    }
    Ok(format!("№{n} «{}» → «{NEW_TITLE}» in index.json, other fields unchanged", target.title))
}

/// 7: the entry and the file are gone, the user's other reports stay.
async fn deleted(
    ctx: &Ctx,
    user: &mut ScriptedUser,
    target: &Entry,
    before: usize,
) -> Result<String, String> {
    let n = target.number;
    attempt(async {
        Ok(user.expect_text(&format!("Отчет №{n} «{}» удален", target.title)).await)
    })
    .await?;
    let left = ctx.reports.of(user.chat_id())?;
    if left.iter().any(|e| e.number == n) {
        return Err(format!("expected №{n}'s entry gone from index.json, it is still there"));
    }
    if ctx.reports.file(target).exists() {
        return Err(format!("expected {} deleted, the file is still there", target.file_path));
    }
    if left.len() + 1 != before {
        return Err(format!("expected {} other reports kept, {} left", before - 1, left.len()));
    }
    Ok(format!("№{n}: entry and {} gone, {} other reports kept", target.file_path, left.len()))
}
