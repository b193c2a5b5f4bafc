//! The intent journal (`.vox-journal.json`): the one multi-step operation in progress, written
//! before its first step and removed after its last, so `open` can finish it after a crash.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::atomic;
use super::error::StorageError;

/// Bumped if the journal's shape ever changes; unknown versions are set aside, not guessed at.
const VERSION: u32 = 1;

/// An operation whose steps must all happen. Every replay step is idempotent.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Intent {
    /// Remove the entry from the index, then its file.
    Delete { user_id: i64, report_number: u32, file_path: String },
    /// Set the entry's `question`.
    Rename { user_id: i64, report_number: u32, file_path: String, new_title: String },
    /// The file is written, then `entry` is appended to the index.
    Save { user_id: i64, report_number: u32, file_path: String, entry: Box<RawValue> },
}

// Externally tagged on purpose: internally tagged enums buffer their content, which `RawValue`
// cannot be read from.
#[derive(Serialize, Deserialize)]
struct JournalFile<I> {
    version: u32,
    intent: I,
}

/// Records `intent` durably (atomic write + directory fsync).
pub(crate) fn write(path: &Path, intent: &Intent) -> Result<(), StorageError> {
    let text = serde_json::to_vec(&JournalFile { version: VERSION, intent })?;
    atomic::write_atomic(path, |out| {
        out.write_all(&text)?;
        out.write_all(b"\n")
    })
}

/// The pending intent, if any. A journal that cannot be read is moved aside (and logged) rather
/// than blocking every write forever or being silently dropped.
pub(crate) fn read(path: &Path) -> Result<Option<Intent>, StorageError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io(path, e)),
    };
    let problem = match serde_json::from_slice::<JournalFile<Intent>>(&bytes) {
        Ok(file) if file.version == VERSION => return Ok(Some(file.intent)),
        Ok(file) => format!("unknown journal version {}", file.version),
        Err(e) => e.to_string(),
    };
    let aside = set_aside(path, "unreadable")?;
    tracing::error!(path = %path.display(), moved_to = %aside.display(), %problem,
        "unreadable operation journal set aside; its operation is not replayed");
    Ok(None)
}

/// Moves the journal out of the way (`.vox-journal.json.<label>-<unix seconds>`), durably, so
/// no later write replays it; returns where it went.
pub(crate) fn set_aside(path: &Path, label: &str) -> Result<PathBuf, StorageError> {
    let aside = set_aside_path(path, label);
    fs::rename(path, &aside).map_err(|e| StorageError::io(path, e))?;
    atomic::sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    Ok(aside)
}

/// Forgets the finished operation. Not fsynced: if the removal is lost in a crash, the replay
/// finds every step already done; and the next operation's journal write syncs the directory.
pub(crate) fn clear(path: &Path) -> Result<(), StorageError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StorageError::io(path, e)),
    }
}

fn set_aside_path(path: &Path, label: &str) -> PathBuf {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{label}-{seconds}"));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn round_trip_and_clear() {
        let tmp = TempDir::new("journal");
        let path = tmp.path().join(".vox-journal.json");
        assert!(read(&path).expect("no journal").is_none());
        let entry = RawValue::from_string(r#"{"question": "Привет"}"#.to_owned()).expect("raw");
        let intent = Intent::Save { user_id: 1, report_number: 2, file_path: "user_1/a.txt".into(), entry };
        write(&path, &intent).expect("write");
        match read(&path).expect("read") {
            Some(Intent::Save { entry, report_number: 2, .. }) => {
                assert_eq!(entry.get(), r#"{"question": "Привет"}"#)
            }
            other => panic!("unexpected {other:?}"),
        }
        clear(&path).expect("clear");
        clear(&path).expect("clear twice");
        assert!(read(&path).expect("cleared").is_none());
    }

    #[test]
    fn unreadable_journal_is_set_aside() {
        let tmp = TempDir::new("journal-bad");
        let path = tmp.path().join(".vox-journal.json");
        fs::write(&path, b"{not json").expect("write");
        assert!(read(&path).expect("set aside").is_none());
        assert!(!path.exists());
        let names: Vec<String> = fs::read_dir(tmp.path())
            .expect("list")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().any(|n| n.starts_with(".vox-journal.json.unreadable-")), "{names:?}");
    }
}
