//! The writers' fencing token, kept in `.vox-fence`: a writer that took a lock
//! shared by several machines (where `flock` on the directory cannot be
//! trusted, as on NFS) writes with that lock's token, and the store refuses a
//! token below the highest one it has seen — so a holder whose lock ran out
//! while it was paused cannot overwrite what the next holder wrote.
//!
//! Token 0 means "no shared lock" (one machine, `flock` alone): never checked,
//! never recorded. The old Python writer knows nothing of the file and is not
//! excluded by it; see `docs/SCALING.md`.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use super::atomic;
use super::error::StorageError;

/// Checks `token` against the stored one and records it when it is higher:
/// called once a write session holds the directory's lock, before any write.
pub(crate) fn admit(path: &Path, token: u64) -> Result<(), StorageError> {
    if token == 0 {
        return Ok(());
    }
    let newest = read(path)?;
    if token < newest {
        return Err(StorageError::Fenced { token, newest });
    }
    if token > newest {
        // Recorded before the first write of the session: a crash after it leaves a token no
        // older holder can get past, which is the point.
        atomic::write_atomic(path, |out| writeln!(out, "{token}"))?;
    }
    Ok(())
}

/// Refuses `token` if a newer holder has been admitted since: called again right before the
/// index is replaced, the write that matters most.
pub(crate) fn check(path: &Path, token: u64) -> Result<(), StorageError> {
    if token == 0 {
        return Ok(());
    }
    let newest = read(path)?;
    if token < newest { Err(StorageError::Fenced { token, newest }) } else { Ok(()) }
}

/// The highest token admitted so far; 0 when none was (no file yet).
pub(crate) fn read(path: &Path) -> Result<u64, StorageError> {
    match fs::read_to_string(path) {
        Ok(text) => text.trim().parse().map_err(|e: std::num::ParseIntError| StorageError::CorruptState {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(StorageError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn a_lower_token_is_refused_and_a_higher_one_recorded() {
        let tmp = TempDir::new("fence");
        let path = tmp.path().join(".vox-fence");
        admit(&path, 0).expect("unfenced");
        assert!(!path.exists(), "token 0 is never recorded");
        admit(&path, 5).expect("first token");
        admit(&path, 5).expect("the same holder again");
        assert!(matches!(admit(&path, 4), Err(StorageError::Fenced { token: 4, newest: 5 })));
        assert!(matches!(check(&path, 3), Err(StorageError::Fenced { token: 3, newest: 5 })));
        admit(&path, 9).expect("a newer holder");
        assert_eq!(read(&path).expect("read"), 9);
        admit(&path, 0).expect("an unfenced writer is not refused");
    }

    #[test]
    fn an_unreadable_fence_file_refuses_fenced_writes() {
        let tmp = TempDir::new("fence-bad");
        let path = tmp.path().join(".vox-fence");
        fs::write(&path, "garbage").expect("write");
        assert!(matches!(admit(&path, 1), Err(StorageError::CorruptState { .. })));
        admit(&path, 0).expect("unfenced writers do not read it");
    }
}
