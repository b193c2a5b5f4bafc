//! # vox-main-menu — `/start`, `/menu` and the main menu
//!
//! ```text
//! user: /start
//! bot:  🏠 Главное меню — выберите раздел:
//!       [📄 Мои отчеты]
//!       [❓ Помощь]
//! ```
//!
//! The menu lists every linked plugin's [`vox_plugin::MenuEntry`] (the host
//! hands them over: this plugin knows no other plugin's strings). It is the
//! home plugin: other plugins' `Button::home` buttons send `menu_main`;
//! `menu_chats`, the "« Назад" data of messages sent before that, still works.

use vox_plugin::{
    Button, Command, ConfigError, Ctx, HandlerError, Keyboard, Manifest, MenuEntry, MessageKind, NoConfig,
    Plugin,
};

/// The main menu's declaration.
pub const MANIFEST: Manifest = Manifest {
    commands: &[
        Command::new("start", "Главное меню"),
        Command::new("menu", "Главное меню"),
        Command::new("help", "Что умеет бот"),
    ],
    callback_prefixes: &[MENU_MAIN, MENU_CHATS, MENU_HELP],
    home: Some(MENU_MAIN),
    ..Manifest::new("main_menu", "Главное меню")
};

/// Shows the main menu.
pub const MENU_MAIN: &str = "menu_main";
/// "« Назад" of messages sent before `Button::home`: shows the main menu.
pub const MENU_CHATS: &str = "menu_chats";
/// Shows the help text.
pub const MENU_HELP: &str = "menu_help";

/// The menu's text.
pub const MENU_TEXT: &str = "🏠 Главное меню — выберите раздел:";

/// `/help`: each section's own text under its label (the plugins say what they
/// do; this plugin knows none of them), then the commands.
pub fn help_text(entries: &[MenuEntry]) -> String {
    let mut text = String::from("❓ Что умеет бот\n\n");
    for e in entries {
        text.push_str(e.label);
        text.push('\n');
        if let Some(help) = e.help {
            text.push_str(help);
            text.push('\n');
        }
        text.push('\n');
    }
    text.push_str("/menu — главное меню\n/cancel — отменить текущее действие\n/help — эта справка");
    text
}

/// The main menu's keyboard: one row per plugin entry, then help.
pub fn keyboard(entries: &[MenuEntry]) -> Keyboard {
    entries
        .iter()
        .fold(Keyboard::new(), |kb, e| kb.row([Button::callback(e.label, e.callback)]))
        .row([Button::callback("❓ Помощь", MENU_HELP)])
}

struct MainMenu;

#[vox_plugin::async_trait]
impl Plugin for MainMenu {
    async fn handle(&self, ctx: &mut Ctx) -> Result<(), HandlerError> {
        let wants_help =
            ctx.command().is_some_and(|(name, _)| name == "help") || ctx.callback_data() == Some(MENU_HELP);
        if wants_help {
            let back = Keyboard::new().row([Button::callback("« Назад", MENU_MAIN)]);
            ctx.send_text(MessageKind::Menu, help_text(&ctx.menu_entries()), Some(back)).await?;
        } else {
            let entries = ctx.menu_entries();
            ctx.send_text(MessageKind::Menu, MENU_TEXT, Some(keyboard(&entries))).await?;
        }
        ctx.answer(None).await?;
        Ok(())
    }
}

fn build(_: NoConfig, _: &vox_plugin::Setup) -> Result<MainMenu, ConfigError> {
    Ok(MainMenu)
}

vox_plugin::register!(MANIFEST, build);
