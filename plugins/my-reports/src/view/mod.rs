//! What users read and see: the Russian texts, dates and sizes, the TXT list
//! and its CSV / JSON exports, the keyboards under v2's messages, and the
//! statistics chart (a PNG drawn and encoded here).

pub mod chart;
pub mod format;
pub mod keyboards;
pub mod listing;
pub mod png;
pub mod texts;
