//! The keyboards of v2's messages; each button's data comes from the codec in
//! [`crate::ids`].

use vox_plugin::{Button, Keyboard};

use super::texts;
use crate::ids::{Action, Export, SHOW_MY_REPORTS, Start, V2Button};

/// The menu under a list.
pub fn actions_keyboard(snap: u64) -> Keyboard {
    let start = |label: &str, s: Start| Button::callback(label, V2Button::Start(s, snap).data());
    let export = |label: &str, f: Export| Button::callback(label, V2Button::Export(f, snap).data());
    Keyboard::new()
        .row([
            start("👁️ Посмотреть", Start::Action(Action::View)),
            start("✏️ Переименовать", Start::Action(Action::Rename)),
        ])
        .row([start("🗑️ Удалить", Start::Action(Action::Delete))])
        .row([
            start("🔎 Фильтр", Start::Filter),
            export("📤 CSV", Export::Csv),
            export("📤 JSON", Export::Json),
        ])
        .row([Button::home(texts::BACK)])
}

/// Lists longer than this are offered page by page in a message too.
pub const PAGING_FROM: usize = 100;

/// The menu under a freshly sent list of `count` reports: the actions, paging
/// through it for long lists, the statistics.
pub fn list_keyboard(snap: u64, count: usize) -> Keyboard {
    let mut kb = actions_keyboard(snap);
    let back = kb.rows.pop();
    if count > PAGING_FROM {
        kb = kb.row([Button::callback(texts::BROWSE, V2Button::Browse(snap).data())]);
    }
    kb = kb.row([Button::callback(texts::STATS, V2Button::Stats(snap).data())]);
    if let Some(back) = back {
        kb.rows.push(back);
    }
    kb
}

/// Under page `page` of `pages` of list `snap`: back and forth, then the actions.
pub fn page_keyboard(snap: u64, page: u32, pages: u32) -> Keyboard {
    let mut nav = Vec::new();
    if page > 0 {
        nav.push(Button::callback("◀️", V2Button::Page(snap, page - 1).data()));
    }
    nav.push(Button::callback(format!("{} / {pages}", page + 1), V2Button::Page(snap, page).data()));
    if page + 1 < pages {
        nav.push(Button::callback("▶️", V2Button::Page(snap, page + 1).data()));
    }
    let mut kb = Keyboard::new().row(nav);
    kb.rows.extend(actions_keyboard(snap).rows);
    kb
}

/// "Open the list again" and "back".
pub fn reopen_keyboard() -> Keyboard {
    Keyboard::new()
        .row([Button::callback(texts::OPEN_LIST, SHOW_MY_REPORTS)])
        .row([Button::home(texts::BACK)])
}

/// Cancel the step.
pub fn cancel_keyboard() -> Keyboard {
    Keyboard::new().row([Button::callback(texts::CANCEL, V2Button::Cancel.data())])
}

/// "Yes" (labelled `yes`) for report `number`, and cancel.
pub fn confirm_keyboard(number: u32, yes: &str) -> Keyboard {
    Keyboard::new().row([
        Button::callback(yes, V2Button::Yes(number).data()),
        Button::callback(texts::CANCEL, V2Button::Cancel.data()),
    ])
}
