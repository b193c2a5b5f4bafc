//! # vox-host — the runtime of the Telegram bot host
//!
//! Links statically registered plugins (see `vox-plugin`), validates them as a
//! whole at start, and serves Telegram updates: routing, dialogue state, the
//! message tracker, per-user locks, one log span per update.
//!
//! # Layout
//! - [`autorollback`]: the candidate switched off by itself when a trigger fires.
//! - [`check`]: the plugin table of `vox-host check-config`.
//! - [`explain`]: `vox-host rollout explain`.
//! - [`config`]: layered settings (embedded defaults, file, `VOX__*` env).
//! - [`registry`]: manifests validated as a whole; lookup tables.
//! - [`overrides`]: automatic rollbacks kept across restarts.
//! - [`plugins`]: linked plugins built from their config sections.
//! - [`rollout`]: which version serves a user (canary, kill switch, sticky buckets).
//! - [`router`]: which plugin serves an input.
//! - [`health`]: each version's recent failures, for automatic rollback.
//! - [`incoming`]: an update taken apart (chat, user, input).
//! - [`update`]: one update's way through the host.
//! - [`state`]: dialogue state behind [`state::StateStore`]; `state/memory.rs`.
//! - [`tracker`]: the message tracker (menus, prompts, confirmations, statuses).
//! - [`live`]: the config that changes without a restart, swapped atomically.
//! - [`reload`]: watching the config file, SIGHUP, the audit log.
//! - [`locks`]: per-user async locks.
//! - [`served`]: updates and distinct users per version since start.
//! - [`status`]: the running host's rollout status file.
//! - [`services`]: the SDK's `HostApi` implemented over the pieces above.
//! - [`telegram`]: Bot API calls with bounded 429 retries.
//! - [`runtime`]: [`HostBuilder`], [`Host`], [`run`]: teloxide dispatcher wiring.
//! - [`operator`]: the operator's commands (check-config, rollout ...).
//! - [`logging`]: the tracing subscriber.
//! - [`metrics`]: Prometheus metrics the update path feeds; the `/metrics` page.
//! - [`ops`]: the operator's HTTP endpoints `/healthz` and `/metrics`; the Telegram probe.
//! - [`texts`]: what the host itself says to users.
//! - [`error`]: start-up and run errors with their exit codes.

pub mod autorollback;
pub mod check;
pub mod config;
pub mod config_edit;
pub mod error;
pub mod explain;
pub mod health;
pub mod incoming;
pub mod live;
pub mod locks;
pub mod logging;
pub mod metrics;
pub mod operator;
pub mod ops;
pub mod overrides;
pub mod plugins;
pub mod registry;
pub mod reload;
pub mod rollout;
pub mod router;
pub mod runtime;
pub mod served;
pub mod services;
pub mod state;
pub mod status;
pub mod telegram;
pub mod texts;
pub mod tracker;
pub mod update;

pub use config::Settings;
pub use error::{Error, RunError, StartError};
pub use runtime::{Host, HostBuilder, Runtime, bot, run, shutdown_signal};
