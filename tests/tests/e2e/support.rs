//! Plugins that exist only in this test binary, to exercise the host: a dialogue
//! with a time-to-live, a handler that panics or fails, and one that blocks
//! until the test lets it go.

use std::sync::LazyLock;
use std::time::Duration;

use tokio::sync::Semaphore;
use vox_plugin::{
    Button, Command, ConfigError, Ctx, HandlerError, Keyboard, Manifest, MessageKind, NoConfig, Plugin,
    Setup, Step, StepState,
};

// Linking the real main menu registers it here as in the binary.
use vox_main_menu as _;
use vox_my_reports as _;

/// `/ask` opens a dialogue step with a 60 s time-to-live; the answer is echoed.
pub const ASK: Manifest = Manifest {
    commands: &[Command::new("ask", "Вопрос")],
    callback_prefixes: &["ask_"],
    steps: &[Step::new("ask_name").ttl(Duration::from_secs(60))],
    ..Manifest::new("test_ask", "Test dialogue")
};

struct Ask;

#[vox_plugin::async_trait]
impl Plugin for Ask {
    async fn handle(&self, ctx: &mut Ctx) -> Result<(), HandlerError> {
        if let Some(name) = ctx.text().map(str::to_owned) {
            ctx.clear_step().await?;
            ctx.send_text(MessageKind::Info, format!("Ответ: {name}"), None).await?;
            return Ok(());
        }
        if ctx.step_name() == Some("ask_name") && ctx.callback_data().is_none() && ctx.command().is_none() {
            ctx.send_text(MessageKind::Status, "Нужен текст", None).await?;
            return Ok(());
        }
        let kb = Keyboard::new().row([Button::callback("❌ Отмена", "ask_cancel")]);
        if ctx.callback_data() == Some("ask_cancel") {
            ctx.clear_step().await?;
            ctx.answer(Some("Отменено")).await?;
            ctx.send_text(MessageKind::Status, "Вопрос отменен", None).await?;
            return Ok(());
        }
        // State first: a test moves the clock as soon as it sees the prompt.
        ctx.set_step("ask_name", &serde_json::json!({"asked": true})).await?;
        ctx.send_text(MessageKind::InputRequest, "Как вас зовут?", Some(kb)).await?;
        Ok(())
    }

    async fn on_expired(&self, ctx: &mut Ctx, expired: StepState) -> Result<(), HandlerError> {
        if ctx.callback_data().is_some() {
            ctx.answer(Some("Время вышло")).await?;
        }
        ctx.send_text(MessageKind::Status, format!("Время вышло: {}", expired.name), None).await?;
        Ok(())
    }
}

/// `/panic` panics, `/fail` returns an error, `/badstep` sets an undeclared
/// step, `crash_button` panics on a button press.
pub const CRASHY: Manifest = Manifest {
    commands: &[
        Command::new("panic", "Паника"),
        Command::new("fail", "Ошибка"),
        Command::new("badstep", "Шаг"),
    ],
    callback_prefixes: &["crash_button"],
    ..Manifest::new("test_crashy", "Test failures")
};

struct Crashy;

#[vox_plugin::async_trait]
impl Plugin for Crashy {
    async fn handle(&self, ctx: &mut Ctx) -> Result<(), HandlerError> {
        match ctx.command().map(|(n, _)| n) {
            Some("fail") => Err(HandlerError::msg("the test plugin failed on purpose")),
            Some("badstep") => {
                ctx.set_step("nobody_declared_this", &()).await?;
                Ok(())
            }
            _ => panic!("the test plugin panicked on purpose"),
        }
    }
}

/// Permits for `/block`: each one lets one blocked handler finish.
pub static GATE: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(0));

/// `/block` waits for a [`GATE`] permit, then replies "разблокирован".
pub const BLOCKER: Manifest = Manifest {
    commands: &[Command::new("block", "Ждать")],
    ..Manifest::new("test_blocker", "Test blocking handler")
};

struct Blocker;

#[vox_plugin::async_trait]
impl Plugin for Blocker {
    async fn handle(&self, ctx: &mut Ctx) -> Result<(), HandlerError> {
        GATE.acquire().await?.forget();
        ctx.send_text(MessageKind::Info, "разблокирован", None).await?;
        Ok(())
    }
}

fn ask(_: NoConfig, _: &Setup) -> Result<Ask, ConfigError> {
    Ok(Ask)
}
fn crashy(_: NoConfig, _: &Setup) -> Result<Crashy, ConfigError> {
    Ok(Crashy)
}
fn blocker(_: NoConfig, _: &Setup) -> Result<Blocker, ConfigError> {
    Ok(Blocker)
}

vox_plugin::register!(ASK, ask);
vox_plugin::register!(CRASHY, crashy);
vox_plugin::register!(BLOCKER, blocker);

/// A versioned plugin for canary tests: `/canary` answers "v1 ok" under v1 and
/// panics under v2; `/canary_report` under v2 reports a critical failure.
pub const CANARY: Manifest = Manifest {
    commands: &[Command::new("canary", "Канарейка"), Command::new("canary_report", "Сбой")],
    versions: &[vox_plugin::Version::new("v1"), vox_plugin::Version::new("v2")],
    entry: Some("canary"),
    ..Manifest::new("test_canary", "Test canary")
};

struct Canary;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CanaryVer {
    V1,
    V2,
}

impl vox_plugin::Versions for CanaryVer {
    const ALL: &'static [(&'static str, Self)] = &[("v1", CanaryVer::V1), ("v2", CanaryVer::V2)];
}

#[vox_plugin::async_trait]
impl Plugin for Canary {
    async fn handle(&self, ctx: &mut Ctx) -> Result<(), HandlerError> {
        match (ctx.version_as::<CanaryVer>(), ctx.command().map(|(n, _)| n)) {
            (Some(CanaryVer::V2), Some("canary_report")) => {
                ctx.report_failure("list_not_delivered");
                ctx.send_text(MessageKind::Info, "v2 reported", None).await?;
                Ok(())
            }
            (Some(CanaryVer::V2), _) => panic!("the candidate is broken on purpose"),
            (Some(CanaryVer::V1) | None, _) => {
                ctx.send_text(MessageKind::Info, "v1 ok", None).await?;
                Ok(())
            }
        }
    }
}

fn canary(_: NoConfig, _: &Setup) -> Result<Canary, ConfigError> {
    Ok(Canary)
}

vox_plugin::register!(CANARY, canary, versions = CanaryVer);
