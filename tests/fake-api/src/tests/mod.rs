//! Tests of the fake against the real teloxide 0.17 client, so what passes
//! here is what the host will see.

mod control;
mod faults;
mod methods;
mod polling;
mod scripted;
mod support;
mod webhook;
