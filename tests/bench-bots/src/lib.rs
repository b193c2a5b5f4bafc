//! The echo plugin the end-to-end benchmarks link: `/echo` answered with
//! exactly one `sendMessage`, like the bare teloxide bot it is compared with;
//! `/open` also opens a dialogue (a step with a little data, no time-to-live),
//! so a memory benchmark can hold many of them open; a press of an `echo:`
//! button is answered (`answerCallbackQuery`) and echoed with one
//! `sendMessage`, like the bare bot and the aiogram peer do.
//!
//! It registers itself when linked: `use vox_bench_bots as _;` (the host echo
//! bot in `src/bin/`, the test kit's in-process benches).

use vox_plugin::{
    Command, ConfigError, Ctx, HandlerError, Manifest, MessageKind, NoConfig, Plugin, Setup, Step,
};

const ECHO: Manifest = Manifest {
    commands: &[Command::new("echo", "Echo"), Command::new("open", "Open a dialogue")],
    steps: &[Step::new("bench_open")],
    callback_prefixes: &["echo:"],
    ..Manifest::new("echo", "Echo")
};

struct Echo;

#[vox_plugin::async_trait]
impl Plugin for Echo {
    async fn handle(&self, ctx: &mut Ctx) -> Result<(), HandlerError> {
        if ctx.command().is_some_and(|(name, _)| name == "open") {
            ctx.set_step("bench_open", &serde_json::json!({"list_at_ms": 1_764_590_000_000u64, "page": 1}))
                .await?;
        }
        ctx.answer(None).await?;
        ctx.send_text(MessageKind::Info, "echo", None).await?;
        Ok(())
    }
}

fn echo(_: NoConfig, _: &Setup) -> Result<Echo, ConfigError> {
    Ok(Echo)
}

vox_plugin::register!(ECHO, echo);
