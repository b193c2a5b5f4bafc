//! Errors of the storage layer, and the reasons a report path is refused.

use std::path::PathBuf;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A file or directory could not be read, written, renamed or synced.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory the failing call was about.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `index.json` exists but its top level is not a JSON array; it is never overwritten.
    #[error("report index {} is corrupt (refusing to write it): {message}", path.display())]
    CorruptIndex {
        /// Path of `index.json`.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// One of the storage's own side files (counters) could not be parsed; it is never overwritten.
    #[error("storage state file {} is corrupt (refusing to write): {message}", path.display())]
    CorruptState {
        /// Path of the unreadable file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// Another writer held the index lock for longer than the lock timeout.
    #[error("the report index is locked by another writer; try again later")]
    Busy,
    /// A writer holding a shared lock's fencing token below the highest one the directory has
    /// seen: its lock ran out (it was paused) and a newer holder has written since.
    #[error("refused a write with fencing token {token}: a newer writer (token {newest}) holds the lock")]
    Fenced {
        /// The refused writer's token.
        token: u64,
        /// The highest token admitted so far.
        newest: u64,
    },
    /// The user already has report number `u32::MAX`; no new number can be given.
    #[error("user {user_id} has used up all report numbers")]
    NumbersExhausted {
        /// The user whose counter overflowed.
        user_id: i64,
    },
    /// An entry could not be encoded as JSON (should not happen with plain strings and integers).
    #[error("could not encode an index entry: {0}")]
    Encode(#[from] serde_json::Error),
    /// The blocking task running the operation panicked or was cancelled.
    #[error("storage task failed: {0}")]
    TaskFailed(String),
    /// An import was refused as a whole, before anything was written.
    #[error("report {report_number} of user {user_id} (`{file_path}`) cannot be imported: {reason}")]
    InvalidImport {
        /// The report's owner.
        user_id: i64,
        /// Its number.
        report_number: u32,
        /// Its file path.
        file_path: String,
        /// Why.
        reason: String,
    },
}

/// A blocking store task that panicked or was cancelled (see [`crate::Storage::off`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage task failed: {0}")]
pub struct TaskFailed(pub String);

impl From<TaskFailed> for StorageError {
    fn from(e: TaskFailed) -> Self {
        StorageError::TaskFailed(e.0)
    }
}

impl From<TaskFailed> for PathRefusal {
    fn from(e: TaskFailed) -> Self {
        tracing::error!(error = %e, "report path check task failed");
        PathRefusal::Unavailable
    }
}

impl StorageError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StorageError::Io { path: path.into(), source }
    }
}

/// Why [`Storage::resolve_user_file_blocking`](super::Storage::resolve_user_file_blocking) or
/// [`Storage::report_path_blocking`](super::Storage::report_path_blocking) refused a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathRefusal {
    /// The path is absolute or has a root/prefix component.
    #[error("path is absolute")]
    Absolute,
    /// The path contains a `..` component.
    #[error("path contains `..`")]
    ParentDir,
    /// The path does not start with the requesting user's `user_<id>/` directory.
    #[error("path belongs to another user's directory")]
    OtherUser,
    /// No index entry of this user has exactly this `file_path`.
    #[error("path is not a report of this user in the index")]
    NotInIndex,
    /// After resolving symlinks the file lies outside the user's directory.
    #[error("path resolves outside the user's directory")]
    OutsideUserDir,
    /// The file (or the user's directory) does not exist or is not a regular file.
    #[error("report file is missing")]
    Missing,
    /// The index could not be read to check the path (corrupt index, I/O error, failed task).
    #[error("the report index is unavailable")]
    Unavailable,
}
