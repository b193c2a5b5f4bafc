//! Per-user "next report number" counters (`.vox-counters.json`), so a deleted number is never
//! handed out again even when it was the user's highest.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use super::atomic;
use super::error::StorageError;
use super::index::Index;

/// `{"<user_id>": <next number>, ...}`.
pub(crate) type Counters = BTreeMap<i64, u32>;

/// Reads the counters; a missing file is empty (legacy directories have none), an unparsable one
/// is an error so that it is never overwritten with less than it knew.
pub(crate) fn load(path: &Path) -> Result<Counters, StorageError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| StorageError::CorruptState { path: path.to_path_buf(), message: e.to_string() }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Counters::new()),
        Err(e) => Err(StorageError::io(path, e)),
    }
}

pub(crate) fn store(path: &Path, counters: &Counters) -> Result<(), StorageError> {
    let text = serde_json::to_vec(counters)?;
    atomic::write_atomic(path, |out| {
        out.write_all(&text)?;
        out.write_all(b"\n")
    })
}

/// The number the user's next report gets: above both the counter and every existing number.
pub(crate) fn next_number(counters: &Counters, index: &Index, user: i64) -> Result<u32, StorageError> {
    let after_highest = match index.highest_number(user) {
        Some(highest) => highest.checked_add(1).ok_or(StorageError::NumbersExhausted { user_id: user })?,
        None => 1,
    };
    Ok(counters.get(&user).copied().unwrap_or(0).max(after_highest))
}

/// Raises the user's counter to at least `next` (storing only if it changed).
pub(crate) fn raise(path: &Path, user: i64, next: u32) -> Result<(), StorageError> {
    let mut counters = load(path)?;
    let current = counters.entry(user).or_insert(0);
    if *current >= next {
        return Ok(());
    }
    *current = next;
    store(path, &counters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn missing_file_is_empty_and_raise_only_goes_up() {
        let tmp = TempDir::new("counters");
        let path = tmp.path().join(".vox-counters.json");
        assert!(load(&path).expect("missing").is_empty());
        raise(&path, 42, 5).expect("raise");
        raise(&path, 42, 3).expect("no-op");
        raise(&path, -7, 2).expect("raise other");
        assert_eq!(fs::read_to_string(&path).expect("read"), "{\"-7\":2,\"42\":5}\n");
        assert_eq!(load(&path).expect("load").get(&42), Some(&5));
    }

    #[test]
    fn corrupt_file_is_refused() {
        let tmp = TempDir::new("counters-bad");
        let path = tmp.path().join(".vox-counters.json");
        fs::write(&path, b"[1,2]").expect("write");
        assert!(matches!(load(&path), Err(StorageError::CorruptState { .. })));
        assert!(raise(&path, 1, 2).is_err());
        assert_eq!(fs::read(&path).expect("untouched"), b"[1,2]");
    }

    #[test]
    fn next_number_takes_the_larger_of_counter_and_index() {
        let (index, _) = Index::parse(
            br#"[{"file_path":"user_1/a","user_id":1,"timestamp":"2025-01-01T00:00:00","question":"q","report_number":4}]"#,
        )
        .expect("index");
        let mut counters = Counters::new();
        assert_eq!(next_number(&counters, &index, 1).expect("next"), 5);
        assert_eq!(next_number(&counters, &index, 2).expect("next"), 1);
        counters.insert(1, 9);
        assert_eq!(next_number(&counters, &index, 1).expect("next"), 9);
    }
}
