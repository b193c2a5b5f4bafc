//! Crash-safe file replacement: temp file in the same directory, write, fsync, rename, fsync the directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::StorageError;

/// Marks our temp files so scans can skip them and `open` can sweep leftovers.
const TEMP_MARK: &str = ".vox-tmp.";

static TEMP_SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Whether `name` is a temp file of [`write_atomic`] (possibly left behind by a crash).
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(TEMP_MARK)
}

/// Replaces `path` with what `fill` writes; readers see the old or the new file, never a mix.
/// The permissions of a file being replaced are kept, and so is a symlink at `path` (operators
/// sometimes link `index.json` elsewhere): its target is replaced instead.
pub(crate) fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> Result<(), StorageError> {
    #[cfg(test)]
    crate::faults::check(crate::faults::Call::Write, path).map_err(|e| StorageError::io(path, e))?;
    let resolved;
    let path = if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        resolved = fs::canonicalize(path).map_err(|e| StorageError::io(path, e))?;
        resolved.as_path()
    } else {
        path
    };
    let dir = parent_of(path);
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let sequence = TEMP_SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(".{name}{TEMP_MARK}{}.{sequence}", std::process::id()));
    let result = write_temp(&temp, path, fill)
        .map_err(|e| StorageError::io(&temp, e))
        .and_then(|()| fs::rename(&temp, path).map_err(|e| StorageError::io(path, e)));
    if result.is_err() {
        // Best effort: a leftover is ignored by scans and swept by the next `open`.
        let _ = fs::remove_file(&temp);
    }
    result?;
    sync_dir(&dir)
}

fn write_temp(
    temp: &Path,
    target: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let file = OpenOptions::new().write(true).create_new(true).open(temp)?;
    if let Ok(existing) = fs::metadata(target) {
        file.set_permissions(existing.permissions())?;
    }
    let mut out = BufWriter::with_capacity(256 * 1024, file);
    fill(&mut out)?;
    out.flush()?;
    let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.sync_all()
}

/// Makes creations, renames and removals in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| StorageError::io(dir, e))
}

/// Removes `path` durably; `Ok(false)` if it did not exist.
pub(crate) fn remove_durably(path: &Path) -> Result<bool, StorageError> {
    #[cfg(test)]
    crate::faults::check(crate::faults::Call::Remove, path).map_err(|e| StorageError::io(path, e))?;
    match fs::remove_file(path) {
        Ok(()) => sync_dir(&parent_of(path)).map(|()| true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StorageError::io(path, e)),
    }
}

/// Creates `dir` (and parents) and makes its entry durable.
pub(crate) fn create_dir_durably(dir: &Path) -> Result<(), StorageError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| StorageError::io(dir, e))?;
    sync_dir(&parent_of(dir))
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let tmp = TempDir::new("atomic");
        let path = tmp.path().join("index.json");
        write_atomic(&path, |w| w.write_all(b"one")).expect("first write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        write_atomic(&path, |w| w.write_all(b"two")).expect("second write");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        assert_eq!(fs::metadata(&path).expect("stat").permissions().mode() & 0o777, 0o600);
        let names: Vec<_> =
            fs::read_dir(tmp.path()).expect("list").flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("index.json")]);
    }

    #[test]
    fn failed_fill_keeps_the_old_file() {
        let tmp = TempDir::new("atomic-fail");
        let path = tmp.path().join("index.json");
        write_atomic(&path, |w| w.write_all(b"old")).expect("write");
        let err = write_atomic(&path, |_| Err(io::Error::other("disk full")));
        assert!(matches!(err, Err(StorageError::Io { .. })));
        assert_eq!(fs::read(&path).expect("read"), b"old");
        assert_eq!(fs::read_dir(tmp.path()).expect("list").count(), 1);
    }

    #[test]
    fn replaces_the_target_of_a_symlink() {
        let tmp = TempDir::new("atomic-link");
        let target = tmp.path().join("real.json");
        let link = tmp.path().join("index.json");
        fs::write(&target, b"old").expect("write");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        write_atomic(&link, |w| w.write_all(b"new")).expect("write through link");
        assert!(fs::symlink_metadata(&link).expect("stat").file_type().is_symlink());
        assert_eq!(fs::read(&target).expect("read"), b"new");
    }

    #[test]
    fn recognises_temp_names() {
        assert!(is_temp_name(".index.json.vox-tmp.12.0"));
        assert!(!is_temp_name("voxpersona_20250115_143000.txt"));
        assert!(!is_temp_name("index.json.vox-tmp.1.2"));
    }

    #[test]
    fn remove_durably_reports_absence() {
        let tmp = TempDir::new("atomic-remove");
        let path = tmp.path().join("f");
        fs::write(&path, b"x").expect("write");
        assert!(remove_durably(&path).expect("remove"));
        assert!(!remove_durably(&path).expect("second remove"));
    }
}
