//! Writer locks with a bounded wait: an in-process gate that queues threads, the cross-process
//! advisory lock on `.vox-index.lock`, and the writers' generation number kept inside that file.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::error::StorageError;

const FIRST_PAUSE: Duration = Duration::from_millis(1);
const LONGEST_PAUSE: Duration = Duration::from_millis(20);

/// Lets one writer thread of a storage in at a time. The file lock alone would exclude threads
/// too, but by polling; the gate queues them, and still gives up at a deadline.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    taken: Mutex<bool>,
    freed: Condvar,
}

/// A pass through the [`Gate`], returned on drop.
pub(crate) struct Pass<'a>(&'a Gate);

impl Gate {
    /// Waits until the gate is free or `timeout` has passed ([`StorageError::Busy`]).
    pub fn enter(&self, timeout: Duration) -> Result<Pass<'_>, StorageError> {
        // The flag is only ever set and cleared whole, so a poisoned mutex still holds a valid one.
        let taken = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut taken, _) = self
            .freed
            .wait_timeout_while(taken, timeout, |taken| *taken)
            .unwrap_or_else(PoisonError::into_inner);
        if *taken {
            return Err(StorageError::Busy);
        }
        *taken = true;
        Ok(Pass(self))
    }

    fn flag(&self) -> MutexGuard<'_, bool> {
        self.taken.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        *self.0.flag() = false;
        // All waiters, so one that timed out at this very moment cannot swallow the wake-up.
        self.0.freed.notify_all();
    }
}

/// An exclusive lock on the lock file, released on drop.
///
/// The file also holds a counter every writer bumps after replacing `index.json`. The index's
/// (len, mtime, inode) stamp alone can repeat when an inode number is reused within one clock
/// tick; the counter lets a writer holding the lock trust its cache anyway.
#[derive(Debug)]
pub(crate) struct IndexLock {
    file: File,
    path: PathBuf,
}

impl IndexLock {
    /// Waits up to `timeout` for the lock, then gives up with [`StorageError::Busy`].
    pub fn acquire(path: &Path, timeout: Duration) -> Result<IndexLock, StorageError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StorageError::io(path, e))?;
        let deadline = Instant::now() + timeout;
        let mut pause = FIRST_PAUSE;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(IndexLock { file, path: path.to_path_buf() }),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(StorageError::io(path, e)),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StorageError::Busy);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
    }

    /// The writers' generation as of now.
    pub fn generation(&self) -> Result<u64, StorageError> {
        read_from(&self.file).map_err(|e| StorageError::io(&self.path, e))
    }

    /// Records that `index.json` was replaced; returns the new generation.
    pub fn bump_generation(&self) -> Result<u64, StorageError> {
        let next = self.generation()?.wrapping_add(1);
        // Fixed width, so the in-place overwrite never leaves a longer old tail behind. Not synced:
        // after a crash the index stamp has changed anyway.
        self.file
            .write_all_at(format!("{next:020}\n").as_bytes(), 0)
            .map_err(|e| StorageError::io(&self.path, e))?;
        Ok(next)
    }
}

impl Drop for IndexLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first just makes it prompt.
        let _ = self.file.unlock();
    }
}

/// The generation as a reader (without the lock) sees it; `0` when there is no lock file yet.
pub(crate) fn read_generation(path: &Path) -> Result<u64, StorageError> {
    match File::open(path) {
        Ok(file) => read_from(&file).map_err(|e| StorageError::io(path, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(StorageError::io(path, e)),
    }
}

/// Reads at offset 0 (not the cursor): the same handle is read again after each bump.
fn read_from(file: &File) -> io::Result<u64> {
    let mut buf = [0u8; 32];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], filled as u64)? {
            0 => break,
            n => filled += n,
        }
    }
    // Unreadable content only costs one extra reload, so it counts as generation 0.
    Ok(std::str::from_utf8(&buf[..filled]).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn second_holder_gets_busy_after_the_timeout() {
        let tmp = TempDir::new("lock");
        let path = tmp.path().join(".vox-index.lock");
        let held = IndexLock::acquire(&path, Duration::from_secs(1)).expect("first lock");
        let started = Instant::now();
        let second = IndexLock::acquire(&path, Duration::from_millis(100));
        assert!(matches!(second, Err(StorageError::Busy)));
        assert!(started.elapsed() >= Duration::from_millis(100));
        drop(held);
        IndexLock::acquire(&path, Duration::from_millis(100)).expect("free again");
    }

    #[test]
    fn gate_queues_threads_and_times_out() {
        let gate = Gate::default();
        let pass = gate.enter(Duration::from_millis(10)).expect("free gate");
        assert!(matches!(gate.enter(Duration::from_millis(30)), Err(StorageError::Busy)));
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| gate.enter(Duration::from_secs(5)).map(drop));
            std::thread::sleep(Duration::from_millis(20));
            drop(pass);
            assert!(waiter.join().expect("thread").is_ok());
        });
    }

    #[test]
    fn generation_counts_up() {
        let tmp = TempDir::new("generation");
        let path = tmp.path().join(".vox-index.lock");
        assert_eq!(read_generation(&path).expect("missing file"), 0);
        let lock = IndexLock::acquire(&path, Duration::from_secs(1)).expect("lock");
        assert_eq!(lock.bump_generation().expect("bump"), 1);
        assert_eq!(lock.bump_generation().expect("bump"), 2);
        assert_eq!(read_generation(&path).expect("read"), 2);
    }
}
