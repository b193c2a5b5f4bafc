//! # vox-__NAME__ — a vox-host plugin
//!
//! ```text
//! user: /__ID__
//! bot:  Привет из плагина __ID__! Как вас зовут?
//! user: Анна
//! bot:  Приятно познакомиться, Анна!
//! ```

use std::time::Duration;

use vox_plugin::{Command, ConfigError, Ctx, HandlerError, Manifest, MessageKind, Plugin, PluginConfig, Setup, Step};

/// What this plugin owns. Ids, commands, callback prefixes and step names must
/// not collide with other plugins': the host refuses to start if they do.
pub const MANIFEST: Manifest = Manifest {
    commands: &[Command::new("__ID__", "Плагин __ID__")],
    callback_prefixes: &["__ID__:"],
    steps: &[Step::new(ASK_NAME).ttl(Duration::from_secs(300))],
    ..Manifest::new("__ID__", "__NAME__")
};

const ASK_NAME: &str = "__ID___ask_name";

/// `[plugins.__ID__]` in the host's config.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The greeting sent on the command.
    #[serde(default = "default_greeting")]
    pub greeting: String,
}

fn default_greeting() -> String {
    "Привет из плагина __ID__! Как вас зовут?".to_owned()
}

/// The plugin.
pub struct ThisPlugin {
    config: Config,
}

#[vox_plugin::async_trait]
impl Plugin for ThisPlugin {
    async fn handle(&self, ctx: &mut Ctx) -> Result<(), HandlerError> {
        match (ctx.step_name(), ctx.text()) {
            (Some(ASK_NAME), Some(name)) => {
                let reply = format!("Приятно познакомиться, {}!", name.trim());
                ctx.clear_step().await?;
                ctx.send_text(MessageKind::Info, reply, None).await?;
            }
            _ => {
                ctx.send_text(MessageKind::InputRequest, self.config.greeting.clone(), None).await?;
                ctx.set_step(ASK_NAME, &()).await?;
            }
        }
        Ok(())
    }
}

// Checks without side effects: the operator's commands and config reload call
// it beside a running host.
impl PluginConfig for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.greeting.trim().is_empty() {
            return Err(ConfigError::new("greeting", "must not be empty"));
        }
        Ok(())
    }
}

// Called once, by the serving process, with a config that passed `validate`.
pub fn build(config: Config, _: &Setup) -> Result<ThisPlugin, ConfigError> {
    Ok(ThisPlugin { config })
}

vox_plugin::register!(MANIFEST, build);

#[cfg(test)]
mod tests {
    use vox_plugin::testing::RecordingHost;
    use vox_plugin::{Input, Setup};

    use super::*;

    fn plugin() -> ThisPlugin {
        build(Config { greeting: default_greeting() }, &Setup::new(".")).expect("builds")
    }

    #[tokio::test]
    async fn the_command_asks_for_a_name_and_the_answer_is_greeted() {
        let host = RecordingHost::for_manifest(&MANIFEST);
        let p = plugin();
        host.serve(&p, host.ctx("__ID__", None, 1, Input::command("__ID__", ""))).await.expect("asks");
        assert_eq!(host.step(1).map(|s| s.name), Some(ASK_NAME));
        host.serve(&p, host.ctx("__ID__", None, 1, Input::text(" Анна "))).await.expect("greets");
        assert_eq!(host.texts(1).last().map(String::as_str), Some("Приятно познакомиться, Анна!"));
        assert!(host.step(1).is_none(), "the dialogue ended");
    }

    #[test]
    fn an_empty_greeting_is_refused_naming_the_key() {
        let err = Config { greeting: " ".into() }.validate().expect_err("empty");
        assert_eq!(err.key, "greeting");
    }
}
