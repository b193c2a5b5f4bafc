//! Checks 2, 3 and 4 with one user: "📄 Мои отчеты" pressed in the main menu
//! answers (2), the answer includes a `.txt` document listing every report
//! seeded for the user (3), and the action menu follows the list (4). Each
//! is waited for on its own, so a missing document does not hide the menu.

use std::time::Duration;

use crate::checks::flow::{self, text};
use crate::checks::{Ctx, users};
use crate::outcome::{CheckResult, attempt};

/// Runs checks 2, 3 and 4.
pub async fn run(ctx: &Ctx) -> Vec<CheckResult> {
    let chat = users::LIST;
    let result = |number, verdict| CheckResult { number, verdict, chat: Some(chat) };
    let mut user = ctx.api.user(chat, "Смоук-Список");
    let opened = attempt(async {
        user.send_text("/start");
        let menu = user.expect_text(text::MAIN_MENU).await;
        if menu.button(text::OPEN_LIST).is_none() {
            return Err(format!(
                "the main menu has no «{}» button: {:?}",
                text::OPEN_LIST,
                menu.button_labels()
            ));
        }
        Ok(())
    })
    .await;
    if let Err(e) = opened {
        let why = format!("expected the main menu after /start: {e}");
        return vec![result(2, Err(why.clone())), result(3, Err(why.clone())), result(4, Err(why))];
    }
    // Independent watchers from this point: the document and the menu are each waited for.
    let mut for_document = ctx.api.user(chat, "Смоук-Список");
    let mut for_menu = ctx.api.user(chat, "Смоук-Список");
    let cursor = ctx.api.call_count();
    let pressed = attempt(async { Ok(user.press(text::OPEN_LIST)) }).await;
    let opens = match pressed {
        Ok(_) => opens(ctx, &mut user, cursor).await,
        Err(e) => Err(e),
    };
    vec![
        result(2, opens),
        result(3, txt_list(ctx, &mut for_document).await),
        result(4, menu(&mut for_menu).await),
    ]
}

/// 2: the press is answered and the bot says something in the chat.
async fn opens(
    ctx: &Ctx,
    user: &mut vox_fake_bot_api::ScriptedUser,
    cursor: usize,
) -> Result<String, String> {
    attempt(async { Ok(user.expect_callback_answered().await) })
        .await
        .map_err(|e| format!("expected the «{}» press to be answered: {e}", text::OPEN_LIST))?;
    let chat = user.chat_id();
    let reply = ctx
        .api
        .wait_call(
            cursor,
            |c| {
                c.is_ok()
                    && c.chat_id() == Some(chat)
                    && matches!(c.method.as_str(), "sendMessage" | "sendDocument")
            },
            Duration::from_secs(5),
        )
        .await;
    match reply {
        Some((call, _)) => Ok(format!("button answered, bot replied with {}", call.method)),
        None => Err(format!("expected a reply to «{}» within 5 s, the bot sent nothing", text::OPEN_LIST)),
    }
}

/// 3: a `.txt` document that lists each seeded report by number and title.
async fn txt_list(ctx: &Ctx, user: &mut vox_fake_bot_api::ScriptedUser) -> Result<String, String> {
    let seeded = ctx.reports.of(user.chat_id())?;
    let doc = attempt(async { Ok(user.expect_document().await) })
        .await
        .map_err(|e| format!("expected the list: {e}"))?;
    if !doc.file_name.ends_with(".txt") {
        return Err(format!("expected a .txt document, got {:?}", doc.file_name));
    }
    let body = doc.text();
    let missing: Vec<String> = seeded
        .iter()
        .filter(|e| !body.contains(&format!("№{}. ", e.number)) || !body.contains(&e.title))
        .map(|e| format!("№{} «{}»", e.number, e.title))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} lists {} of {} seeded reports; missing {}",
            doc.file_name,
            seeded.len() - missing.len(),
            seeded.len(),
            missing.join(", ")
        ));
    }
    let total = format!("{} {}", text::TOTAL, seeded.len());
    if !body.contains(&total) {
        return Err(format!(
            "expected «{total}» in {}, first lines: {:?}",
            doc.file_name,
            body.lines().take(4).collect::<Vec<_>>()
        ));
    }
    Ok(format!(
        "{}: {} of {} seeded reports listed, {} bytes",
        doc.file_name,
        seeded.len(),
        seeded.len(),
        doc.bytes.len()
    ))
}

/// 4: the menu with the action buttons comes after the list.
async fn menu(user: &mut vox_fake_bot_api::ScriptedUser) -> Result<String, String> {
    let menu = attempt(async { Ok(user.expect_text(text::V2_MENU).await) })
        .await
        .map_err(|e| format!("expected the action menu: {e}"))?;
    let missing: Vec<&str> = text::ACTIONS.iter().copied().filter(|a| menu.button(a).is_none()).collect();
    if !missing.is_empty() {
        return Err(format!("the menu lacks {missing:?}; its buttons: {:?}", menu.button_labels()));
    }
    let list = user.visible().into_iter().filter(|m| m.document.is_some()).map(|m| m.id).max();
    if list.is_none_or(|id| id > menu.id) {
        return Err(format!("expected the menu (#{}) after the list document ({list:?})", menu.id));
    }
    Ok(format!("«{}» with {}", flow::short(&flow::first_line(&menu), 24), menu.button_labels().join(" ")))
}
