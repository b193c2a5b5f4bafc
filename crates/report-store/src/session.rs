//! A write session: the in-process writer mutex plus the cross-process lock (and, for a writer
//! with a shared lock's token, the fence), and the one way the index is changed (write the file,
//! then update the cache). `apply::begin` opens one and replays the journal first.

use std::cell::Cell;
use std::time::Instant;

use super::error::StorageError;
use super::index::{Edit, Index};
use super::journal::{self, Intent};
use super::lock::{IndexLock, Pass};
use super::{Inner, atomic, fence};

/// Holds both locks until dropped. A journal written in the session is cleared by
/// [`Session::finish`]; on an early error it stays for the next session to replay.
pub(crate) struct Session<'a> {
    inner: &'a Inner,
    lock: IndexLock,
    fence: u64,
    journaled: Cell<bool>,
    _pass: Pass<'a>,
}

impl<'a> Session<'a> {
    /// Takes the locks (waiting at most the lock timeout in all), then admits `fence` (0: none).
    pub fn begin(inner: &'a Inner, fence: u64) -> Result<Session<'a>, StorageError> {
        let started = Instant::now();
        let pass = inner.writers.enter(inner.lock_timeout)?;
        let lock =
            IndexLock::acquire(&inner.lock_path, inner.lock_timeout.saturating_sub(started.elapsed()))?;
        fence::admit(&inner.fence_path, fence)?;
        Ok(Session { inner, lock, fence, journaled: Cell::new(false), _pass: pass })
    }

    pub fn inner(&self) -> &'a Inner {
        self.inner
    }

    /// Runs `decide` on the up-to-date index; if it returns an edit, the index file is replaced
    /// with the edited version and the cache updated. Refuses (with `CorruptIndex`) when the file
    /// could not be parsed.
    pub fn edit<T>(
        &self,
        decide: impl FnOnce(&Index) -> Result<(Option<Edit>, T), StorageError>,
    ) -> Result<T, StorageError> {
        let cache = &self.inner.cache;
        let generation = self.lock.generation()?;
        let _writing = cache.writing();
        let (commit, value) = cache.with_index(Some(generation), |index, base| {
            let (edit, value) = decide(index)?;
            let Some(edit) = edit else { return Ok((None, value)) };
            fence::check(&self.inner.fence_path, self.fence)?;
            atomic::write_atomic(&self.inner.index_path, |out| index.write_to(out, &edit))?;
            let new = cache.version_after_write(self.lock.bump_generation()?)?;
            Ok::<_, StorageError>((Some((base, new, edit)), value))
        })??;
        if let Some((base, new, edit)) = commit {
            cache.commit(base, new, edit);
        }
        Ok(value)
    }

    /// Looks at the up-to-date index without changing it.
    pub fn read<T>(&self, look: impl FnOnce(&Index) -> T) -> Result<T, StorageError> {
        self.edit(|index| Ok((None, look(index))))
    }

    /// Durably records the operation about to be done.
    pub fn journal(&self, intent: &Intent) -> Result<(), StorageError> {
        journal::write(&self.inner.journal_path, intent)?;
        self.journaled.set(true);
        Ok(())
    }

    /// Clears the journal after the last step of the operation.
    pub fn finish(self) -> Result<(), StorageError> {
        if self.journaled.get() { journal::clear(&self.inner.journal_path) } else { Ok(()) }
    }
}
