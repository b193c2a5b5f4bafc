//! What users read: the Russian texts, dates and sizes, the TXT list and its
//! CSV / JSON exports, and the keyboards under v2's messages.

pub mod format;
pub mod keyboards;
pub mod listing;
pub mod texts;
