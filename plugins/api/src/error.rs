//! Error types of the SDK: what a handler returns, what a host call can fail
//! with, and a config error that names its key.

use std::fmt;

/// Any failure inside a handler. Built from any error with `?`, or from text.
///
/// ```
/// use vox_plugin::HandlerError;
/// fn parse(s: &str) -> Result<u32, HandlerError> {
///     let n: u32 = s.parse()?; // ParseIntError converts
///     if n == 0 { return Err(HandlerError::msg("zero")); }
///     Ok(n)
/// }
/// assert!(parse("x").is_err());
/// assert_eq!(parse("0").unwrap_err().to_string(), "zero");
/// ```
pub struct HandlerError(Box<dyn std::error::Error + Send + Sync + 'static>);

impl HandlerError {
    /// An error from a message.
    pub fn msg(message: impl Into<String>) -> Self {
        Self(message.into().into())
    }

    /// The underlying error.
    pub fn inner(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HandlerError {
    fn from(e: E) -> Self {
        Self(Box::new(e))
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A host service call that failed.
///
/// ```
/// let e = vox_plugin::HostError::UnknownStep("nope".into());
/// assert_eq!(e.to_string(), "step `nope` is not declared by this plugin and version");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The message to edit or delete is gone (deleted, too old to touch, or never there).
    #[error("telegram: the message is gone: {0}")]
    MessageGone(String),
    /// The bot may not write to this chat any more: the user blocked it or
    /// deleted the account, or the bot was removed from the group. Stop writing.
    #[error("telegram: the bot cannot write to this chat: {0}")]
    Blocked(String),
    /// Telegram asked the bot to slow down for longer than the host waits by
    /// itself (it already retried shorter waits).
    #[error("telegram: rate limited, retry after {} s", retry_after.as_secs())]
    RateLimited {
        /// How long Telegram asked to wait.
        retry_after: std::time::Duration,
    },
    /// A text, caption, file or button Telegram refuses as too long or too large
    /// (checked by the host before sending, as Telegram counts).
    #[error("telegram: too long: {0}")]
    TooLong(String),
    /// Anything else the Telegram Bot API refused, or it could not be reached.
    #[error("telegram: {0}")]
    Telegram(String),
    /// The state store failed.
    #[error("state store: {0}")]
    State(String),
    /// [`crate::Ctx::set_step`] with a step this plugin and version did not declare.
    #[error("step `{0}` is not declared by this plugin and version")]
    UnknownStep(String),
    /// Step data that does not serialize or deserialize.
    #[error("step data: {0}")]
    StepData(#[from] serde_json::Error),
    /// A file to upload could not be read.
    #[error("file: {0}")]
    File(#[from] std::io::Error),
}

/// An invalid config value, naming its key (`plugins.my_reports.reports_dir`).
///
/// ```
/// let e = vox_plugin::ConfigError::new("reports_dir", "must not be empty").within("my_reports");
/// assert_eq!(e.to_string(), "`plugins.my_reports.reports_dir`: must not be empty");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {message}")]
pub struct ConfigError {
    /// The full key.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    /// An error about `key`, relative to the plugin's section or already full.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into() }
    }

    /// Qualifies a key relative to the plugin's section with `plugins.<id>.`.
    pub fn within(mut self, plugin_id: &str) -> Self {
        let prefix = format!("plugins.{plugin_id}");
        if !self.key.starts_with(&prefix) {
            self.key = format!("{prefix}.{}", self.key);
        }
        self
    }
}
