//! What operators see of my-reports: its counters on the host's `/metrics`
//! ([`metrics`]), one log line per user action ([`actions`]), and the
//! detection of overlapping actions behind the lock trigger ([`overlaps`]).

pub mod actions;
pub mod metrics;
pub mod overlaps;
