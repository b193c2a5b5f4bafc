//! The parsed index kept in memory and reused while `index.json` is unchanged on disk; reloaded
//! when another writer replaced it, updated in place after our own writes.

use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{RwLock, RwLockWriteGuard};

use super::error::StorageError;
use super::index::{Edit, Index};
use super::lock;

/// Malformed entries logged one by one per load; the rest only in a summary.
const LOGGED_PROBLEMS: usize = 100;

/// Identity of one version of `index.json`. Replacing the file by rename gives it a new inode,
/// and ctime catches in-place rewrites that kept length and mtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// What a cached index was loaded from: the file's stamp (`None`: no file) and the writers'
/// generation read just before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Version {
    stamp: Option<Stamp>,
    generation: u64,
}

#[derive(Debug)]
struct Loaded {
    version: Version,
    /// `Err` holds the parser's message for an index whose top level is not an array.
    content: Result<Index, String>,
}

/// The cache of one storage directory.
#[derive(Debug)]
pub(crate) struct Cache {
    index_path: PathBuf,
    lock_path: PathBuf,
    state: RwLock<Option<Loaded>>,
    malformed: AtomicU64,
    writing: AtomicBool,
}

/// Held by one of our writers from before it replaces `index.json` until the cache is updated.
pub(crate) struct Writing<'a>(&'a AtomicBool);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Cache {
    pub fn new(index_path: PathBuf, lock_path: PathBuf) -> Cache {
        Cache {
            index_path,
            lock_path,
            state: RwLock::new(None),
            malformed: AtomicU64::new(0),
            writing: AtomicBool::new(false),
        }
    }

    /// Marks a write of ours in progress. Until the guard drops, readers that notice the new file
    /// keep using the cached index (which the writer is about to update) instead of each
    /// re-parsing the whole file; they see the state from just before the write.
    pub fn writing(&self) -> Writing<'_> {
        self.writing.store(true, Ordering::Release);
        Writing(&self.writing)
    }

    /// Malformed entries in the index as last loaded or written.
    pub fn malformed(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }

    /// Runs `f` on the current index, reloading it first if the file changed.
    ///
    /// Readers pass `generation: None` and trust the stamp; a writer holding the lock passes the
    /// generation it read under the lock, so any write by another of our writers forces a reload.
    pub fn with_index<R>(
        &self,
        generation: Option<u64>,
        f: impl FnOnce(&Index, Version) -> R,
    ) -> Result<R, StorageError> {
        let current = self.current_stamp()?;
        let is_fresh = |v: &Version| v.stamp == current && generation.is_none_or(|g| g == v.generation);
        // A poisoned lock skips this path: `write_state` starts over from disk.
        if let Ok(state) = self.state.read() {
            let own_write_pending = |l: &Loaded| {
                generation.is_none() && l.content.is_ok() && self.writing.load(Ordering::Acquire)
            };
            if let Some(loaded) = state.as_ref().filter(|l| is_fresh(&l.version) || own_write_pending(l)) {
                return self.run(loaded, f);
            }
        }
        let mut state = self.write_state();
        // Another thread may have reloaded while this one waited.
        if state.as_ref().is_none_or(|l| !is_fresh(&l.version)) {
            *state = Some(self.load()?);
        }
        match state.as_ref() {
            Some(loaded) => self.run(loaded, f),
            None => Err(self.corrupt("index not loaded".to_owned())),
        }
    }

    /// Applies `edit` (already on disk as version `new`) if the cache still holds `base`; if a
    /// reader reloaded meanwhile, it already holds the file this edit produced (or a later one).
    pub fn commit(&self, base: Version, new: Version, edit: Edit) {
        let mut state = self.write_state();
        match state.as_mut() {
            Some(Loaded { version, content: Ok(index) }) if *version == base => {
                index.apply(edit);
                *version = new;
                self.malformed.store(index.malformed() as u64, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    /// The stamp and writers' generation of the file just written by the lock holder.
    pub fn version_after_write(&self, generation: u64) -> Result<Version, StorageError> {
        Ok(Version { stamp: self.current_stamp()?, generation })
    }

    fn run<R>(&self, loaded: &Loaded, f: impl FnOnce(&Index, Version) -> R) -> Result<R, StorageError> {
        match &loaded.content {
            Ok(index) => Ok(f(index, loaded.version)),
            Err(message) => Err(self.corrupt(message.clone())),
        }
    }

    fn corrupt(&self, message: String) -> StorageError {
        StorageError::CorruptIndex { path: self.index_path.clone(), message }
    }

    /// A panic while applying an edit may have left the index half-updated: start over from disk.
    fn write_state(&self) -> RwLockWriteGuard<'_, Option<Loaded>> {
        self.state.write().unwrap_or_else(|poisoned| {
            self.state.clear_poison();
            let mut state = poisoned.into_inner();
            *state = None;
            state
        })
    }

    fn current_stamp(&self) -> Result<Option<Stamp>, StorageError> {
        match fs::metadata(&self.index_path) {
            Ok(meta) => Ok(Some(Stamp::of(&meta))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::io(&self.index_path, e)),
        }
    }

    fn load(&self) -> Result<Loaded, StorageError> {
        // Read before the index: a generation newer than the content only costs a reload later.
        let generation = lock::read_generation(&self.lock_path)?;
        let path = &self.index_path;
        let (stamp, bytes) = match File::open(path) {
            Ok(mut file) => {
                // The stamp of the opened file, so it matches what is read even if the path is
                // replaced meanwhile.
                let meta = file.metadata().map_err(|e| StorageError::io(path, e))?;
                let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
                file.read_to_end(&mut bytes).map_err(|e| StorageError::io(path, e))?;
                (Some(Stamp::of(&meta)), Some(bytes))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => (None, None),
            Err(e) => return Err(StorageError::io(path, e)),
        };
        let version = Version { stamp, generation };
        let Some(bytes) = bytes else {
            self.malformed.store(0, Ordering::Relaxed);
            return Ok(Loaded { version, content: Ok(Index::default()) });
        };
        let content = match Index::parse(&bytes) {
            Ok((index, problems)) => {
                self.log_problems(&problems);
                self.malformed.store(problems.len() as u64, Ordering::Relaxed);
                Ok(index)
            }
            Err(message) => {
                tracing::error!(path = %path.display(), %message,
                    "report index is not a JSON array; listing fails and writes are refused until it is fixed");
                Err(message)
            }
        };
        Ok(Loaded { version, content })
    }

    fn log_problems(&self, problems: &[(usize, super::entry::Malformed)]) {
        for (position, why) in problems.iter().take(LOGGED_PROBLEMS) {
            tracing::warn!(path = %self.index_path.display(), position, reason = %why,
                "skipping malformed report index entry (kept in the file)");
        }
        if problems.len() > LOGGED_PROBLEMS {
            tracing::warn!(path = %self.index_path.display(), total = problems.len(),
                "more malformed report index entries not logged individually");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{TempDir, legacy_entry, write_legacy};

    fn titles(cache: &Cache, user: i64) -> Vec<String> {
        cache
            .with_index(None, |index, _| index.reports_of(user).map(|r| r.title.clone()).collect())
            .expect("index")
    }

    #[test]
    fn reuses_until_the_file_changes() {
        let tmp = TempDir::new("cache");
        let cache = Cache::new(tmp.path().join("index.json"), tmp.path().join(".vox-index.lock"));
        assert!(titles(&cache, 1).is_empty());
        write_legacy(tmp.path(), &[legacy_entry(1, 1, "2025-01-15T14:30:00", "a")]);
        assert_eq!(titles(&cache, 1), ["a"]);
        let first = cache.with_index(None, |_, v| v).expect("version");
        assert_eq!(cache.with_index(None, |_, v| v).expect("version"), first);
        // Same length, in place: the stamp still changes (mtime/ctime).
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_legacy(tmp.path(), &[legacy_entry(1, 1, "2025-01-15T14:30:00", "b")]);
        assert_eq!(titles(&cache, 1), ["b"]);
        // A writer's generation mismatch forces a reload even with an unchanged stamp.
        let reloaded = cache.with_index(Some(7), |_, v| v).expect("version");
        assert_eq!(reloaded.generation, 0);
    }

    #[test]
    fn readers_keep_the_cache_while_an_own_write_is_pending() {
        let tmp = TempDir::new("cache-pending");
        let cache = Cache::new(tmp.path().join("index.json"), tmp.path().join(".vox-index.lock"));
        write_legacy(tmp.path(), &[legacy_entry(1, 1, "2025-01-15T14:30:00", "a")]);
        assert_eq!(titles(&cache, 1), ["a"]);
        let writing = cache.writing();
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_legacy(tmp.path(), &[legacy_entry(1, 1, "2025-01-15T14:30:00", "b")]);
        assert_eq!(titles(&cache, 1), ["a"], "the writer will update the cache itself");
        drop(writing);
        assert_eq!(titles(&cache, 1), ["b"]);
    }

    #[test]
    fn corrupt_index_is_an_error_until_fixed() {
        let tmp = TempDir::new("cache-corrupt");
        let cache = Cache::new(tmp.path().join("index.json"), tmp.path().join(".vox-index.lock"));
        fs::write(tmp.path().join("index.json"), b"{\"not\": \"an array\"}").expect("write");
        assert!(matches!(cache.with_index(None, |_, _| ()), Err(StorageError::CorruptIndex { .. })));
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(tmp.path().join("index.json"), b"[]").expect("write");
        assert!(cache.with_index(None, |_, _| ()).is_ok());
    }
}
