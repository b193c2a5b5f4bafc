//! # vox-host — the runtime of the Telegram bot host
//!
//! Links statically registered plugins (see `vox-plugin`), validates them as a
//! whole at start, and serves Telegram updates: routing, dialogue state, the
//! message tracker, per-user locks, one log span per update. The library knows
//! no plugin: the binary (`bot/`) links them.
//!
//! # Layout
//! One folder per subsystem, each opened by a map of its own; a room imports
//! only rooms on a lower floor (`scripts/check-rooms.py`, in CI), and only the
//! composition root, [`app`], knows them all.
//!
//! | floor | room | what |
//! |---|---|---|
//! | 0 | [`config`], [`metrics`], [`registry`], [`rollout::policy`] | layered settings; metric families, collectors, encoding; manifests validated as a whole; the pure version decision |
//! | 1 | [`error`], [`rollout::config`] | start-up and run errors; a section's host keys parsed into a policy |
//! | 2 | [`registry::load`] | plugin sections checked (no side effects) and plugins built |
//! | 3 | [`rollout`] | the live config and its one writer, reload, overrides, canary windows, served counts, automatic rollback, the status file |
//! | 4 | [`services`] | what plugins may call (`HostApi`): Telegram client, reachability, tracker, locks, dialogue state |
//! | 5 | [`dispatch`] | one update: incoming, router, update — spawns nothing |
//! | 6 | [`ops`], [`intake`] | `/healthz`, `/metrics` (the collectors it is given), the Telegram probe, logging; webhook mode's listener, duplicate drop and per-chat queues |
//! | 7 | [`app`] | the composition root: [`HostBuilder`], [`Host`], [`run`] build everything, register every collector and spawn every background task |
//! | — | [`operator`] | code that runs only in the operator's CLI process (floors 0–3 only): check, explain, config edits, status view |

pub mod app;
pub mod config;
pub mod dispatch;
pub mod error;
pub mod intake;
pub mod metrics;
pub mod operator;
pub mod ops;
pub mod registry;
pub mod rollout;
pub mod services;

pub use app::{Host, HostBuilder, Runtime, bot, run, shutdown_signal};
pub use config::Settings;
pub use error::{Error, RunError, StartError};
