//! Storage of the reports the VoxPersona bot saved: `<dir>/index.json` (one JSON array for all
//! users, format fixed by the old Python bot) and the report files under `<dir>/user_<id>/`.
//!
//! - **Compatibility**: entries are never given new fields; unknown fields and malformed entries
//!   are written back as they were read (raw JSON text), so the old code can still read the index.
//!   Extra state lives in dot-files beside it: `.vox-counters.json` (next report number per user,
//!   so numbers are never reused), `.vox-journal.json` (the operation in progress) and
//!   `.vox-index.lock` (the writers' advisory lock) and `.vox-fence` (the highest fencing token
//!   of a lock shared across machines, see [`Storage::with_fence`]).
//! - **Crash safety**: every file is replaced atomically (temp, fsync, rename, directory fsync);
//!   multi-step operations are journaled and completed at `open` or before the next write.
//! - **Concurrency**: writers (threads or processes) serialize on the lock with a bounded wait;
//!   readers need no lock because the index only ever changes by rename.
//! - **Speed**: the parsed index is cached and reused while the file's stamp is unchanged; a write
//!   re-emits the raw text of untouched entries instead of serializing them.
//! - **Async**: `*_blocking` methods do the work; [`Storage::off`] runs any of them on tokio's
//!   blocking pool.

mod apply;
mod atomic;
mod cache;
mod consistency;
mod counters;
pub mod demo;
mod entry;
mod error;
#[cfg(test)]
mod faults;
mod fence;
mod import;
mod index;
mod journal;
mod lock;
mod model;
mod ops;
mod paths;
mod session;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;
mod timestamp;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use error::{PathRefusal, StorageError, TaskFailed};
pub use import::Imported;
pub use model::{Consistency, Deleted, NewReport, Renamed, Report, StorageStats};

use cache::Cache;

/// File names inside the reports directory.
const INDEX_FILE: &str = "index.json";
const COUNTERS_FILE: &str = ".vox-counters.json";
const JOURNAL_FILE: &str = ".vox-journal.json";
const LOCK_FILE: &str = ".vox-index.lock";
const FENCE_FILE: &str = ".vox-fence";

/// Orphan or dangling paths logged one by one at `open`; the rest only counted.
const LOGGED_PATHS: usize = 100;

/// Tuning for [`Storage::open_with`].
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// How long a write waits for another writer's lock before failing with [`StorageError::Busy`].
    pub lock_timeout: Duration,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions { lock_timeout: Duration::from_secs(5) }
    }
}

/// Handle to a reports directory. Cheap to clone; clones share the cache and locks.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
    /// The fencing token this handle writes with; 0 for none.
    fence: u64,
}

pub(crate) struct Inner {
    dir: PathBuf,
    index_path: PathBuf,
    counters_path: PathBuf,
    journal_path: PathBuf,
    lock_path: PathBuf,
    fence_path: PathBuf,
    lock_timeout: Duration,
    cache: Cache,
    writers: lock::Gate,
    orphan_files: AtomicU64,
    dangling_entries: AtomicU64,
    recovered: AtomicU64,
    /// Failed replays of the current journal.
    replay_failures: AtomicU64,
    /// Journals set aside because their replay failed for good.
    journals_set_aside: AtomicU64,
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage").field("dir", &self.inner.dir).finish_non_exhaustive()
    }
}

impl Storage {
    /// Opens (creating it if missing) a reports directory with default options, completes an
    /// interrupted operation and logs a consistency scan.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Storage, StorageError> {
        Storage::open_with(dir, StorageOptions::default())
    }

    /// [`Storage::open`] with explicit options.
    pub fn open_with(dir: impl Into<PathBuf>, options: StorageOptions) -> Result<Storage, StorageError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| StorageError::io(&dir, e))?;
        let inner = Inner {
            index_path: dir.join(INDEX_FILE),
            counters_path: dir.join(COUNTERS_FILE),
            journal_path: dir.join(JOURNAL_FILE),
            cache: Cache::new(dir.join(INDEX_FILE), dir.join(LOCK_FILE)),
            lock_path: dir.join(LOCK_FILE),
            fence_path: dir.join(FENCE_FILE),
            dir,
            lock_timeout: options.lock_timeout,
            writers: lock::Gate::default(),
            orphan_files: AtomicU64::new(0),
            dangling_entries: AtomicU64::new(0),
            recovered: AtomicU64::new(0),
            replay_failures: AtomicU64::new(0),
            journals_set_aside: AtomicU64::new(0),
        };
        let storage = Storage { inner: Arc::new(inner), fence: 0 };
        storage.startup();
        Ok(storage)
    }

    /// This handle, writing with the fencing token of a lock shared by several machines (where
    /// `flock` on the directory is not to be trusted, as on NFS): a write whose token is below
    /// the highest one the directory has seen fails with [`StorageError::Fenced`], so a writer
    /// whose lock ran out while it was paused cannot overwrite its successor's work. Token 0 is
    /// no fencing (the default). Take the lock, write through this handle, then release it.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("vox-fence-doc-{}", std::process::id()));
    /// let storage = vox_report_store::Storage::open(&dir)?;
    /// let newer = storage.with_fence(8);
    /// newer.delete_blocking(1, 1, "user_1/none.txt")?; // not found, but the token is recorded
    /// let stale = storage.with_fence(7);
    /// assert!(matches!(
    ///     stale.delete_blocking(1, 1, "user_1/none.txt"),
    ///     Err(vox_report_store::StorageError::Fenced { token: 7, newest: 8 })
    /// ));
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), vox_report_store::StorageError>(())
    /// ```
    pub fn with_fence(&self, token: u64) -> Storage {
        Storage { inner: Arc::clone(&self.inner), fence: token }
    }

    /// The highest fencing token a write of this directory was admitted with (0: none yet).
    pub fn newest_fence_blocking(&self) -> Result<u64, StorageError> {
        fence::read(&self.inner.fence_path)
    }

    /// The reports directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// What has been seen since `open`.
    pub fn stats(&self) -> StorageStats {
        let inner = &self.inner;
        StorageStats {
            malformed_entries: inner.cache.malformed(),
            orphan_files: inner.orphan_files.load(Ordering::Relaxed),
            dangling_entries: inner.dangling_entries.load(Ordering::Relaxed),
            recovered_operations: inner.recovered.load(Ordering::Relaxed),
            journals_set_aside: inner.journals_set_aside.load(Ordering::Relaxed),
        }
    }

    /// The user's reports, newest first (timestamp, then number, descending).
    pub fn list_blocking(&self, user: i64) -> Result<Vec<Report>, StorageError> {
        let mut reports: Vec<Report> =
            self.inner.cache.with_index(None, |index, _| index.reports_of(user).cloned().collect())?;
        sort_newest_first(&mut reports);
        Ok(reports)
    }

    /// The user's report with this number (the newest, should the index hold duplicates).
    pub fn get_blocking(&self, user: i64, number: u32) -> Result<Option<Report>, StorageError> {
        self.inner.cache.with_index(None, |index, _| {
            index.reports_of(user).filter(|r| r.number == number).min_by(|a, b| newest_first(a, b)).cloned()
        })
    }

    /// Sets the title of the user's report `number`, if it still has `expected_path` (otherwise
    /// `NotFound`: it was deleted, or the number belongs to another file). Only `question` changes.
    pub fn rename_blocking(
        &self,
        user: i64,
        number: u32,
        expected_path: &str,
        new_title: &str,
    ) -> Result<Renamed, StorageError> {
        ops::rename(&self.inner, self.fence, user, number, expected_path, new_title)
    }

    /// Removes the entry and its file, if the entry still has `expected_path`; idempotent. A file
    /// already missing does not stop the entry's removal. The number is never given again.
    pub fn delete_blocking(
        &self,
        user: i64,
        number: u32,
        expected_path: &str,
    ) -> Result<Deleted, StorageError> {
        ops::delete(&self.inner, self.fence, user, number, expected_path)
    }

    /// Writes the report file and appends its entry with the user's next number.
    pub fn save_report_blocking(&self, new: NewReport) -> Result<Report, StorageError> {
        ops::save(&self.inner, self.fence, new)
    }

    /// Stores many reports at once with the numbers and paths they have (see
    /// [`Imported`]): fixtures, demo data, moving a collection in. Refused as a
    /// whole when a path is not the owner's or a number is taken; returns how
    /// many were stored.
    pub fn import_blocking(&self, batch: Vec<Imported>) -> Result<usize, StorageError> {
        import::import(&self.inner, self.fence, batch)
    }

    /// Finds orphan files and dangling entries (and records their counts in [`Storage::stats`]).
    pub fn check_consistency_blocking(&self) -> Result<Consistency, StorageError> {
        Ok(self.scan()?.consistency)
    }

    /// The absolute path of the user's report file `rel` (as found in a callback button), if it is
    /// safe to send: see [`PathRefusal`] for the checks. Touches the disk.
    pub fn resolve_user_file_blocking(&self, user: i64, rel: &str) -> Result<PathBuf, PathRefusal> {
        paths::check_lexically(user, rel)?;
        let listed =
            self.inner.cache.with_index(None, |index, _| index.reports_of(user).any(|r| r.file_path == rel));
        match listed {
            Ok(true) => paths::contained_file(&self.inner.dir, user, rel),
            Ok(false) => Err(PathRefusal::NotInIndex),
            Err(error) => {
                tracing::warn!(user, %error, "cannot check a report path: index unavailable");
                Err(PathRefusal::Unavailable)
            }
        }
    }

    /// The absolute path of a report's file, with the same checks as
    /// [`Storage::resolve_user_file_blocking`] except the index lookup. Touches the disk.
    pub fn report_path_blocking(&self, report: &Report) -> Result<PathBuf, PathRefusal> {
        paths::check_lexically(report.user_id, &report.file_path)?;
        paths::contained_file(&self.inner.dir, report.user_id, &report.file_path)
    }

    /// Runs store work on tokio's blocking pool, off the async executor — the
    /// one async entry to the store: `storage.off(move |s| s.list_blocking(user)).await`.
    /// A task that panicked or was cancelled is a [`StorageError::TaskFailed`]
    /// (for path checks: [`PathRefusal::Unavailable`]).
    pub async fn off<T, E>(
        &self,
        work: impl FnOnce(&Storage) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<TaskFailed> + Send + 'static,
    {
        let storage = self.clone();
        tokio::task::spawn_blocking(move || work(&storage))
            .await
            .unwrap_or_else(|e| Err(E::from(TaskFailed(e.to_string()))))
    }

    fn scan(&self) -> Result<consistency::Scan, StorageError> {
        let found =
            self.inner.cache.with_index(None, |index, _| consistency::scan(&self.inner.dir, index))??;
        let c = &found.consistency;
        self.inner.orphan_files.store(c.orphan_files.len() as u64, Ordering::Relaxed);
        self.inner.dangling_entries.store(c.dangling_entries.len() as u64, Ordering::Relaxed);
        Ok(found)
    }

    /// Completes an interrupted operation, sweeps our leftover temp files and logs the scan.
    fn startup(&self) {
        // Recovery needs the lock; if another writer keeps it past the timeout, the next write
        // session recovers instead.
        let session = apply::begin(&self.inner, self.fence)
            .inspect_err(|error| {
                tracing::warn!(dir = %self.inner.dir.display(), %error,
                "could not check for interrupted operations at open; the next write will")
            })
            .ok();
        let found = match self.scan() {
            Ok(found) => found,
            Err(error) => {
                tracing::error!(dir = %self.inner.dir.display(), %error, "report consistency check failed");
                return;
            }
        };
        // Under the lock no writer of ours is mid-write, so every temp file is a crash leftover.
        if session.is_some() {
            for temp in &found.temp_files {
                if let Err(error) = std::fs::remove_file(temp) {
                    tracing::warn!(path = %temp.display(), %error, "could not remove a leftover temp file");
                }
            }
        }
        drop(session);
        let c = &found.consistency;
        for path in c.orphan_files.iter().take(LOGGED_PATHS) {
            tracing::warn!(file_path = %path, "orphan report file: no index entry references it");
        }
        for path in c.dangling_entries.iter().take(LOGGED_PATHS) {
            tracing::warn!(file_path = %path, "dangling report entry: its file is missing");
        }
        if c.orphan_files.len() > LOGGED_PATHS || c.dangling_entries.len() > LOGGED_PATHS {
            tracing::warn!(
                orphans = c.orphan_files.len(),
                dangling = c.dangling_entries.len(),
                "more orphan files / dangling entries than logged individually"
            );
        }
        tracing::info!(dir = %self.inner.dir.display(), malformed = c.malformed_entries,
            orphans = c.orphan_files.len(), dangling = c.dangling_entries.len(),
            recovered = self.inner.recovered.load(Ordering::Relaxed), "report storage opened");
    }
}

fn newest_first(a: &Report, b: &Report) -> std::cmp::Ordering {
    b.timestamp.cmp(&a.timestamp).then(b.number.cmp(&a.number))
}

fn sort_newest_first(reports: &mut [Report]) {
    reports.sort_by(newest_first);
}
