//! Consistency scan: files under `user_*/` that no entry references (orphans) and entries whose
//! file is missing (dangling). It only reports; fixing is an operator's decision.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::atomic;
use super::entry;
use super::error::StorageError;
use super::index::Index;
use super::model::Consistency;

/// What a scan found, plus our own leftover temp files (which are not orphans).
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub consistency: Consistency,
    pub temp_files: Vec<PathBuf>,
}

/// Scans `root` against `index`.
pub(crate) fn scan(root: &Path, index: &Index) -> Result<Scan, StorageError> {
    // Malformed entries still reference their file: such a file is not an orphan.
    let malformed_paths: Vec<String> = index
        .entries()
        .iter()
        .filter(|e| e.report.is_none())
        .filter_map(|e| entry::file_path_of(&e.raw))
        .collect();
    let referenced: HashSet<&str> = index
        .entries()
        .iter()
        .filter_map(|e| e.report.as_ref().map(|r| r.file_path.as_str()))
        .chain(malformed_paths.iter().map(String::as_str))
        .collect();

    let mut found = Scan::default();
    for item in read_dir(root)? {
        let name = item.file_name().to_string_lossy().into_owned();
        if atomic::is_temp_name(&name) {
            found.temp_files.push(item.path());
        }
        // `metadata` follows a symlinked user directory: operators may keep users on other disks.
        if name.starts_with("user_") && fs::metadata(item.path()).is_ok_and(|m| m.is_dir()) {
            walk(&item.path(), &name, &referenced, &mut found)?;
        }
    }

    found.consistency.dangling_entries = index
        .entries()
        .iter()
        .filter_map(|e| e.report.as_ref())
        .filter(|r| fs::metadata(root.join(&r.file_path)).is_err())
        .map(|r| r.file_path.clone())
        .collect();
    found.consistency.malformed_entries = index.malformed();
    found.consistency.orphan_files.sort();
    found.consistency.dangling_entries.sort();
    Ok(found)
}

fn walk(dir: &Path, rel: &str, referenced: &HashSet<&str>, found: &mut Scan) -> Result<(), StorageError> {
    for item in read_dir(dir)? {
        let name = item.file_name().to_string_lossy().into_owned();
        let child = format!("{rel}/{name}");
        // Not following symlinked subdirectories keeps the walk finite.
        let is_dir = item.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            walk(&item.path(), &child, referenced, found)?;
        } else if atomic::is_temp_name(&name) {
            found.temp_files.push(item.path());
        } else if !referenced.contains(child.as_str()) {
            found.consistency.orphan_files.push(child);
        }
    }
    Ok(())
}

fn read_dir(dir: &Path) -> Result<Vec<fs::DirEntry>, StorageError> {
    match fs::read_dir(dir) {
        Ok(items) => items.collect::<io::Result<Vec<_>>>().map_err(|e| StorageError::io(dir, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StorageError::io(dir, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{TempDir, legacy_entry, write_legacy};

    #[test]
    fn finds_orphans_dangling_and_temp_files() {
        let tmp = TempDir::new("consistency");
        let root = tmp.path();
        let mut malformed = legacy_entry(1, 3, "not a time", "bad");
        malformed["file_path"] = "user_1/kept_by_malformed.txt".into();
        write_legacy(
            root,
            &[
                legacy_entry(1, 1, "2025-01-15T14:30:00", "a"),
                legacy_entry(1, 2, "2025-01-15T14:30:00", "b"),
                malformed,
            ],
        );
        fs::remove_file(root.join("user_1/voxpersona_0002.txt")).expect("make dangling");
        fs::write(root.join("user_1/stray.txt"), b"x").expect("orphan");
        fs::create_dir_all(root.join("user_9/sub")).expect("mkdir");
        fs::write(root.join("user_9/sub/deep.txt"), b"x").expect("orphan");
        fs::write(root.join("user_1/.voxpersona_9.txt.vox-tmp.1.1"), b"x").expect("temp");
        fs::write(root.join("notes.txt"), b"x").expect("not under user_*");

        let (index, _) = Index::parse(&fs::read(root.join("index.json")).expect("read")).expect("parse");
        let found = scan(root, &index).expect("scan");
        assert_eq!(found.consistency.orphan_files, vec!["user_1/stray.txt", "user_9/sub/deep.txt"]);
        assert_eq!(found.consistency.dangling_entries, vec!["user_1/voxpersona_0002.txt"]);
        assert_eq!(found.consistency.malformed_entries, 1);
        assert_eq!(found.temp_files, vec![root.join("user_1/.voxpersona_9.txt.vox-tmp.1.1")]);
    }
}
