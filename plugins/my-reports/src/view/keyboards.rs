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
