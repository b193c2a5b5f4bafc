//! # vox-main-menu — `/start`, `/menu` and the main menu
//!
//! ```text
//! user: /start
//! bot:  🏠 Главное меню — выберите раздел:
//!       [📄 Мои отчеты]
//!       [❓ Помощь]
//! ```
//!
//! The "📄 Мои отчеты" button carries `show_my_reports`, which the my-reports
//! plugin owns. This plugin owns `menu_main` and `menu_chats` — the "« Назад"
//! target of other plugins — which show the menu again.

use vox_plugin::{
    Button, Command, ConfigError, Ctx, HandlerError, Keyboard, Manifest, MessageKind, NoConfig, Plugin,
};

/// The main menu's declaration.
pub const MANIFEST: Manifest = Manifest {
    commands: &[
        Command::new("start", "Главное меню"),
        Command::new("menu", "Главное меню"),
        Command::new("help", "Что умеет бот"),
    ],
    callback_prefixes: &[MENU_MAIN, MENU_CHATS, MENU_HELP],
    ..Manifest::new("main_menu", "Главное меню")
};

/// Shows the main menu.
pub const MENU_MAIN: &str = "menu_main";
/// "« Назад" from other plugins: shows the main menu.
pub const MENU_CHATS: &str = "menu_chats";
/// Shows the help text.
pub const MENU_HELP: &str = "menu_help";

/// The menu's text.
pub const MENU_TEXT: &str = "🏠 Главное меню — выберите раздел:";

const HELP_TEXT: &str = "❓ Что умеет бот\n\n\
    📄 Мои отчеты — список ваших отчетов: посмотреть, переименовать или удалить отчет по номеру.\n\n\
    /menu — главное меню\n/cancel — отменить текущее действие";

/// The main menu's keyboard.
pub fn keyboard() -> Keyboard {
    Keyboard::new()
        .row([Button::callback("📄 Мои отчеты", "show_my_reports")])
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
            ctx.send_text(MessageKind::Menu, HELP_TEXT, Some(back)).await?;
        } else {
            ctx.send_text(MessageKind::Menu, MENU_TEXT, Some(keyboard())).await?;
        }
        ctx.answer(None).await?;
        Ok(())
    }
}

fn build(_: NoConfig, _: &vox_plugin::Setup) -> Result<MainMenu, ConfigError> {
    Ok(MainMenu)
}

vox_plugin::register!(MANIFEST, build);
