//! Layered configuration: the embedded `config/default.toml`, then the file given
//! by `--config` / `VOX_CONFIG`, then `VOX__SECTION__KEY` environment variables.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The defaults, embedded so the binary runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[host]`
    pub host: HostSettings,
    /// `[telegram]`
    pub telegram: TelegramSettings,
    /// `[log]`
    pub log: LogSettings,
    /// `[state]`
    pub state: StateSettings,
    /// `[redis]`: used by `state.backend = "redis"`.
    #[serde(default)]
    pub redis: RedisSettings,
    /// `[ops]`
    pub ops: OpsSettings,
    /// `[plugins.<id>]`, raw: host keys are split off by the registry, the rest
    /// goes to the plugin's typed config.
    #[serde(default)]
    pub plugins: BTreeMap<String, serde_json::Value>,
}

/// `[host]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSettings {
    /// Where the host and its plugins keep files.
    pub data_dir: std::path::PathBuf,
}

/// `[telegram]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    /// The bot token; empty means unset.
    #[serde(default)]
    pub token: String,
    /// The Bot API base URL.
    pub api_url: url::Url,
    /// getUpdates long-polling timeout, seconds.
    pub poll_timeout_secs: u32,
    /// Keep sends and edits inside Telegram's flood limits (30/s per bot,
    /// 1/s per private chat with bursts, 20/min per group).
    #[serde(default = "yes")]
    pub throttle: bool,
    /// How updates arrive: long polling or Telegram calling a webhook.
    #[serde(default)]
    pub mode: UpdateMode,
    /// `[telegram.webhook]`: used in webhook mode.
    #[serde(default)]
    pub webhook: WebhookSettings,
}

/// How updates arrive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateMode {
    /// `getUpdates` long polling: one process per bot token.
    #[default]
    Polling,
    /// Telegram POSTs each update to `telegram.webhook.url`: several replicas
    /// may serve one token behind a load balancer.
    Webhook,
}

/// `[telegram.webhook]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// The public https URL Telegram calls (the reverse proxy's); required in webhook mode.
    pub url: String,
    /// `host:port` the host's own listener binds (behind the proxy).
    pub listen: String,
    /// The path updates are POSTed to on `listen`.
    pub path: String,
    /// The `X-Telegram-Bot-Api-Secret-Token` Telegram must send; empty: derived
    /// from the bot token (the same on every replica, unguessable without it).
    pub secret_token: String,
    /// Telegram's `max_connections`: simultaneous deliveries, 1–100.
    pub max_connections: u8,
    /// Accepted updates waiting for their chat's turn at most; beyond it
    /// Telegram is answered 503 and delivers again later.
    pub queue: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            url: String::new(),
            listen: "127.0.0.1:8443".into(),
            path: "/telegram".into(),
            secret_token: String::new(),
            max_connections: 40,
            queue: 10_000,
        }
    }
}

impl WebhookSettings {
    /// The address to listen on.
    pub fn address(&self) -> Result<std::net::SocketAddr, ConfigError> {
        let listen = self.listen.trim();
        listen.parse().map_err(|_| {
            ConfigError(format!(
                "`telegram.webhook.listen`: `{listen}` is not an address like `127.0.0.1:8443`"
            ))
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url: url::Url = self.url.trim().parse().map_err(|_| {
            ConfigError(format!(
                "`telegram.webhook.url`: `{}` is not a URL; webhook mode needs the public https URL \
                 Telegram calls, e.g. `https://bot.example.com/telegram`",
                self.url
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError(format!(
                "`telegram.webhook.url`: `{url}` must be an https:// URL (http:// only for a local Bot API server)"
            )));
        }
        self.address()?;
        if !self.path.starts_with('/') {
            return Err(ConfigError(format!("`telegram.webhook.path`: `{}` must start with `/`", self.path)));
        }
        let secret = &self.secret_token;
        if secret.len() > 256 || !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ConfigError(
                "`telegram.webhook.secret_token`: 1–256 characters of A–Z, a–z, 0–9, `_` and `-` \
                 (Telegram's rule), or empty to derive one from the bot token"
                    .into(),
            ));
        }
        if !(1..=100).contains(&self.max_connections) {
            return Err(ConfigError(
                "`telegram.webhook.max_connections`: must be 1–100 (Telegram's range)".into(),
            ));
        }
        if self.queue == 0 {
            return Err(ConfigError("`telegram.webhook.queue`: must be at least 1".into()));
        }
        Ok(())
    }
}

fn yes() -> bool {
    true
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// Human-readable lines or JSON lines.
    pub format: LogFormat,
    /// A tracing filter directive.
    pub level: String,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people at a terminal.
    Human,
    /// One JSON object per line, for collectors.
    Json,
}

/// `[state]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSettings {
    /// Which store keeps dialogue state.
    pub backend: StateBackend,
    /// The SQLite store's file, relative to `host.data_dir` unless absolute.
    #[serde(default = "default_state_path")]
    pub path: PathBuf,
}

/// `[redis]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// `redis://[user:password@]host:port[/db]` (`rediss://` for TLS is not built in).
    pub url: String,
    /// Every key the host writes starts with this (several bots on one Redis).
    pub prefix: String,
    /// `/healthz` turns 503 when Redis has not answered for this long, seconds.
    pub unavailable_after_secs: u32,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self { url: String::new(), prefix: "vox:".into(), unavailable_after_secs: 10 }
    }
}

fn default_state_path() -> PathBuf {
    PathBuf::from("state.sqlite3")
}

impl Settings {
    /// The SQLite state store's file.
    pub fn state_path(&self) -> PathBuf {
        self.host.data_dir.join(&self.state.path)
    }
}

/// `[ops]`: the operator's HTTP endpoints (`/healthz`, `/metrics`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsSettings {
    /// `host:port` to listen on; empty turns the endpoints off.
    pub listen: String,
    /// `/healthz` turns 503 when Telegram has been unreachable this long, seconds.
    pub unreachable_after_secs: u32,
    /// How often the host checks that Telegram answers (`getMe`), seconds.
    pub probe_every_secs: u32,
}

impl OpsSettings {
    /// The address to listen on, or `None` when the endpoints are off.
    pub fn address(&self) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        let listen = self.listen.trim();
        if listen.is_empty() {
            return Ok(None);
        }
        listen.parse().map(Some).map_err(|_| {
            ConfigError(format!(
                "`ops.listen`: `{listen}` is not an address like `127.0.0.1:9090` (empty turns the endpoints off)"
            ))
        })
    }
}

/// Dialogue state backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateBackend {
    /// In process memory; lost on restart (tests, the sandbox).
    Memory,
    /// An SQLite file under `host.data_dir`: dialogues survive restarts.
    Sqlite,
    /// Redis at `redis.url`, shared by every replica of the bot.
    Redis,
}

/// A configuration that cannot be used, in one paragraph naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Where settings come from, in layers: the library's defaults, the binary's
/// defaults (its plugins' sections), the file, the environment. The config
/// owner keeps it, so a reload reads exactly the layers the host started from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Embedded TOML layered over [`DEFAULT_TOML`] (the binary's plugin sections).
    pub defaults: Vec<&'static str>,
    /// The operator's file (`--config` / `VOX_CONFIG`).
    pub file: Option<PathBuf>,
    /// The process environment; only `VOX__*`, `TELOXIDE_TOKEN` and
    /// `TELOXIDE_API_URL` are read from it.
    pub env: Vec<(String, String)>,
}

impl Sources {
    /// The file and the environment over the library's defaults.
    pub fn new(file: Option<PathBuf>, env: impl IntoIterator<Item = (String, String)>) -> Self {
        Self { defaults: Vec::new(), file, env: env.into_iter().collect() }
    }

    /// Adds an embedded defaults layer (after the library's, before the file).
    pub fn with_defaults(mut self, toml: &'static str) -> Self {
        self.defaults.push(toml);
        self
    }

    /// Loads and validates the host's keys (plugins' own keys are checked by
    /// the plugins, see `plugins::check`).
    pub fn load(&self) -> Result<Settings, ConfigError> {
        self.load_read().map(|(settings, _)| settings)
    }

    /// As [`Sources::load`], also returning the file's text as it was read (the
    /// live config is known by it: see `rollout::file_stamp`).
    pub fn load_read(&self) -> Result<(Settings, Option<String>), ConfigError> {
        let text =
            match &self.file {
                None => None,
                Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!("config file `{}` cannot be read: {e}", path.display()))
                })?),
            };
        Ok((self.layered(text.as_deref())?, text))
    }

    /// As [`Sources::load`], with `text` standing for the file's content: an
    /// edit is checked in memory before it is written.
    pub fn load_text(&self, text: &str) -> Result<Settings, ConfigError> {
        self.layered(Some(text))
    }

    fn layered(&self, file: Option<&str>) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = self.env.iter().cloned().collect();
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULT_TOML, config::FileFormat::Toml));
        for layer in &self.defaults {
            builder = builder.add_source(config::File::from_str(layer, config::FileFormat::Toml));
        }
        if let Some(text) = file {
            builder = builder.add_source(config::File::from_str(text, config::FileFormat::Toml));
        }
        let vox_env: HashMap<String, String> =
            env.iter().filter(|(k, _)| k.starts_with("VOX__")).map(|(k, v)| (k.clone(), v.clone())).collect();
        builder = builder.add_source(
            config::Environment::with_prefix("VOX")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(vox_env)),
        );
        let file = self.file.as_deref();
        let raw = builder.build().map_err(|e| ConfigError(describe(&e, file)))?;
        let mut settings: Settings = raw.try_deserialize().map_err(|e| ConfigError(describe(&e, file)))?;
        settings.apply_teloxide_env(&env)?;
        settings.validate()?;
        Ok(settings)
    }
}

impl Settings {
    /// Loads the layers over the library's defaults (see [`Sources`]). `env` is
    /// the process environment (passed in so tests need not mutate it).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        Sources::new(file.map(Path::to_owned), env).load()
    }

    /// Teloxide's own variables, for operators who already use them.
    fn apply_teloxide_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        if self.telegram.token.is_empty()
            && let Some(token) = env.get("TELOXIDE_TOKEN")
        {
            self.telegram.token = token.clone();
        }
        if !env.contains_key("VOX__TELEGRAM__API_URL")
            && let Some(url) = env.get("TELOXIDE_API_URL")
        {
            self.telegram.api_url = url
                .parse()
                .map_err(|e| ConfigError(format!("`TELOXIDE_API_URL`: `{url}` is not a URL ({e})")))?;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.host.data_dir.as_os_str().is_empty() {
            return Err(ConfigError("`host.data_dir`: must not be empty".into()));
        }
        if !matches!(self.telegram.api_url.scheme(), "http" | "https") {
            return Err(ConfigError(format!(
                "`telegram.api_url`: `{}` must be an http:// or https:// URL",
                self.telegram.api_url
            )));
        }
        if self.telegram.poll_timeout_secs > 50 {
            return Err(ConfigError(
                "`telegram.poll_timeout_secs`: must be at most 50 (Telegram closes longer polls)".into(),
            ));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError(format!(
                "`log.level`: `{}` is not a valid filter ({e})",
                self.log.level
            )));
        }
        if self.state.backend == StateBackend::Redis {
            let url = self.redis.url.trim();
            if url.is_empty() {
                return Err(ConfigError(
                    "`redis.url`: `state.backend = \"redis\"` needs the Redis to use, e.g. \
                     `redis://127.0.0.1:6379/` (env VOX__REDIS__URL)"
                        .into(),
                ));
            }
            if !(url.starts_with("redis://")
                || url.starts_with("unix://")
                || url.starts_with("redis+unix://"))
            {
                return Err(ConfigError(format!(
                    "`redis.url`: `{url}` must start with redis:// (or unix:// for a socket)"
                )));
            }
            if self.redis.unavailable_after_secs == 0 {
                return Err(ConfigError("`redis.unavailable_after_secs`: must be at least 1".into()));
            }
        }
        if self.telegram.mode == UpdateMode::Webhook {
            self.telegram.webhook.validate()?;
        }
        self.ops.address()?;
        if self.ops.probe_every_secs == 0 {
            return Err(ConfigError("`ops.probe_every_secs`: must be at least 1".into()));
        }
        if self.ops.unreachable_after_secs < self.ops.probe_every_secs {
            return Err(ConfigError(format!(
                "`ops.unreachable_after_secs`: must be at least `ops.probe_every_secs` ({})",
                self.ops.probe_every_secs
            )));
        }
        for (id, section) in &self.plugins {
            if !section.is_object() {
                return Err(ConfigError(format!("`plugins.{id}`: must be a table, e.g. `[plugins.{id}]`")));
            }
        }
        Ok(())
    }

    /// What plugin constructors are told about the host.
    pub fn setup(&self) -> vox_plugin::Setup {
        vox_plugin::Setup::new(&self.host.data_dir)
    }

    /// The token, or the error that says how to give one.
    pub fn token(&self) -> Result<&str, ConfigError> {
        let token = self.telegram.token.trim();
        if token.is_empty() {
            return Err(ConfigError(
                "no Telegram bot token: set the environment variable VOX__TELEGRAM__TOKEN \
                 (or TELOXIDE_TOKEN), or `telegram.token` in the file given with --config. \
                 Get a token from @BotFather."
                    .into(),
            ));
        }
        Ok(token)
    }
}

fn describe(e: &config::ConfigError, file: Option<&Path>) -> String {
    match file {
        Some(path) => format!("invalid configuration (defaults + `{}` + environment): {e}", path.display()),
        None => format!("invalid configuration (defaults + environment): {e}"),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod properties;
