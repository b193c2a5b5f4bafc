//! Public data types of the storage layer: reports, operation outcomes, consistency and statistics.

use chrono::NaiveDateTime;

/// A saved report, as described by its (well-formed) `index.json` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The per-user `report_number`; stable and never reused.
    pub number: u32,
    /// Path relative to the reports directory, like `user_42/voxpersona_20250115_143000.txt`.
    pub file_path: String,
    /// Telegram user id of the owner.
    pub user_id: i64,
    /// Telegram username at save time, if any.
    pub username: Option<String>,
    /// The report's title (the entry's `question` field).
    pub title: String,
    /// Wall-clock time of the report; an offset in the stored text is dropped, the local time kept.
    pub timestamp: NaiveDateTime,
    /// Size of the report file in bytes (as recorded; `0` when missing).
    pub size_bytes: u64,
    /// Tokens the analysis used (as recorded; `0` when missing).
    pub tokens: u64,
    /// `"fast"` or `"deep"` (`"fast"` when missing).
    pub search_type: String,
    /// The pipeline job that saved it ([`NewReport::job_id`]), if given.
    pub job_id: Option<String>,
}

/// A report to be saved by [`Storage::save_report_blocking`](super::Storage::save_report_blocking).
#[derive(Debug, Clone)]
pub struct NewReport {
    /// Owner.
    pub user_id: i64,
    /// Owner's username, if known.
    pub username: Option<String>,
    /// Title, stored as `question`.
    pub title: String,
    /// `"fast"` or `"deep"`; stored as given.
    pub search_type: String,
    /// Tokens used by the analysis.
    pub tokens: u64,
    /// The report text; `size_bytes` is its length.
    pub content: Vec<u8>,
    /// Report time; local now (whole seconds) when `None`.
    pub timestamp: Option<NaiveDateTime>,
    /// The idempotency key: the pipeline's job id. A save retried with the
    /// same key (after an error or a lost answer) returns the report the
    /// first one stored — one report, one number. Stored as `job_id`.
    pub job_id: Option<String>,
}

/// Outcome of a rename.
#[derive(Debug, Clone, PartialEq)]
#[expect(clippy::large_enum_variant, reason = "shape agreed with the handlers; values are short-lived")]
pub enum Renamed {
    /// The entry was found and now carries the new title (`old == new` apart from the title).
    Renamed {
        /// The report before the rename.
        old: Report,
        /// The report after the rename.
        new: Report,
    },
    /// No entry of this user has that number with the expected path (deleted or replaced meanwhile).
    NotFound,
}

/// Outcome of a delete.
#[derive(Debug, Clone, PartialEq)]
pub enum Deleted {
    /// The entry was removed from the index and its file deleted (or already missing).
    Deleted(Report),
    /// No entry of this user has that number with the expected path (already deleted, say).
    NotFound,
}

/// Result of [`Storage::check_consistency_blocking`](super::Storage::check_consistency_blocking).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consistency {
    /// Files under `user_*/` that no index entry references (relative paths, sorted).
    pub orphan_files: Vec<String>,
    /// `file_path`s of well-formed entries whose file does not exist (sorted).
    pub dangling_entries: Vec<String>,
    /// Entries skipped as malformed.
    pub malformed_entries: usize,
}

/// Counters describing what the storage has seen since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageStats {
    /// Malformed entries in the index as last loaded.
    pub malformed_entries: u64,
    /// Orphan files found by the last consistency check.
    pub orphan_files: u64,
    /// Dangling entries found by the last consistency check.
    pub dangling_entries: u64,
    /// Interrupted operations completed from the journal.
    pub recovered_operations: u64,
    /// Journals set aside because their operation could not be completed.
    pub journals_set_aside: u64,
}
