//! The echo plugin both throughput benchmarks link: `/echo` answered with
//! exactly one `sendMessage`, like the bare teloxide bot it is compared with.

use vox_plugin::{Command, ConfigError, Ctx, HandlerError, Manifest, MessageKind, NoConfig, Plugin, Setup};

const ECHO: Manifest =
    Manifest { commands: &[Command::new("echo", "Echo")], ..Manifest::new("echo", "Echo") };

struct Echo;

#[vox_plugin::async_trait]
impl Plugin for Echo {
    async fn handle(&self, ctx: &mut Ctx) -> Result<(), HandlerError> {
        ctx.send_text(MessageKind::Info, "echo", None).await?;
        Ok(())
    }
}

fn echo(_: NoConfig, _: &Setup) -> Result<Echo, ConfigError> {
    Ok(Echo)
}

vox_plugin::register!(ECHO, echo);
