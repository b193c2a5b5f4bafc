//! What operators see of my-reports: its counters on the host's `/metrics`
//! ([`metrics`]) and one log line per user action ([`actions`]).

pub mod actions;
pub mod metrics;
