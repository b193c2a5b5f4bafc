//! # Which version serves whom, and the live config
//!
//! - [`policy`]: the pure decision (kill > deny > allow > pin > sticky bucket);
//!   [`config`]: parsing a plugin section's host keys into a policy.
//! - [`live`]: the config that changes without a restart, swapped atomically;
//!   [`writer`]: its one writer (reload and automatic rollback both go through it).
//! - [`audit`]: the audit log of applied changes.
//! - [`reload`]: watching the config file and the override file, SIGHUP.
//! - [`overrides`]: automatic rollbacks kept across restarts.
//! - [`canary`]: each candidate's recent failures (the windows the triggers read).
//! - [`served`]: updates and distinct users per version since start.
//! - [`autorollback`]: switching a candidate off when a trigger fires.
//! - [`status`]: the running host's status file, for the operator's commands.

pub mod audit;
pub mod autorollback;
pub mod canary;
pub mod config;
pub mod live;
pub mod overrides;
pub mod policy;
pub mod reload;
pub mod served;
pub mod status;
pub mod writer;
