//! Why the host cannot start or keep running. Every start-up error is meant for
//! an operator: one paragraph naming the key or the plugins involved.

use crate::config::ConfigError;
use crate::registry::RegistryError;

/// The host refused to start: exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Configuration that cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Conflicting or invalid plugin manifests.
    #[error("the plugin registry is invalid:\n{}", bullets(.0.iter().map(ToString::to_string)))]
    Registry(Vec<RegistryError>),
    /// Plugin sections that do not fit the linked plugins.
    #[error("the plugin configuration is invalid:\n{}", bullets(.0.iter().cloned()))]
    Plugins(Vec<String>),
    /// The state store cannot be opened (newer schema, held by another process, unusable).
    /// The message names the file and what to do.
    #[error("{0}")]
    State(String),
}

/// The host started but could not keep serving.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The Bot API did not answer `getMe`.
    #[error("cannot reach the Telegram Bot API at start: {0}")]
    Unreachable(String),
    /// Telegram refused `setWebhook` (a URL it cannot use, say).
    #[error("Telegram refused the webhook (`telegram.webhook.url`): {0}")]
    Webhook(String),
    /// The webhook listener failed.
    #[error("the webhook listener (`telegram.webhook.listen`) failed: {0}")]
    Listener(String),
}

fn bullets(lines: impl Iterator<Item = String>) -> String {
    lines.map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n")
}

/// Either way [`crate::run`] can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Refused to start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Failed while running.
    #[error(transparent)]
    Run(#[from] RunError),
}

impl Error {
    /// The process exit code: 2 for a refused start (config, registry), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Start(_) => 2,
            Error::Run(_) => 1,
        }
    }
}
