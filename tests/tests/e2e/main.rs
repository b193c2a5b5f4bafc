//! End-to-end tests: the real host runtime against the fake Bot API, driven by
//! scripted users. One binary, one module per area (links once).

mod support;

mod dialogue;
mod failures;
mod menu;
mod routing;
mod telegram_faults;
