//! End-to-end tests: the real host runtime against the fake Bot API, driven by
//! scripted users. One binary, one module per area (links once).

mod reports_fixture;
mod support;

mod dialogue;
mod failures;
mod menu;
mod ops;
mod rate_limits;
mod redis_state;
mod reports_v1;
mod reports_v2;
mod restarts;
mod rollout;
mod routing;
mod telegram_faults;
mod webhook;
