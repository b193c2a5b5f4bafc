//! Test helpers: self-removing temp directories and index fixtures.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A fresh directory under `std::env::temp_dir()`, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("vox-my-reports-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An entry as the old bot wrote it.
pub(crate) fn legacy_entry(user: i64, number: u32, timestamp: &str, title: &str) -> Value {
    json!({
        "file_path": format!("user_{user}/voxpersona_{number:04}.txt"),
        "user_id": user,
        "username": "tester",
        "timestamp": timestamp,
        "question": title,
        "size_bytes": 4,
        "tokens": 10,
        "search_type": "fast",
        "report_number": number,
    })
}

/// Writes `entries` as `index.json` (Python's `indent=2` layout) and creates each entry's file.
///
/// Only a `file_path` made of plain names gets a file: an empty, absolute or
/// `..` path (as property tests generate) stays dangling, so the fixture never
/// writes outside `dir` nor onto `dir` itself.
pub(crate) fn write_legacy(dir: &Path, entries: &[Value]) {
    let text = serde_json::to_string_pretty(entries).expect("encode fixture");
    std::fs::write(dir.join("index.json"), text).expect("write index");
    for entry in entries {
        if let Some(rel) = entry.get("file_path").and_then(Value::as_str).filter(|rel| plain(rel)) {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create user dir");
            }
            std::fs::write(path, b"body").expect("write report");
        }
    }
}

/// True for a non-empty relative path of plain names (no root, `.` or `..`).
fn plain(rel: &str) -> bool {
    let mut parts = Path::new(rel).components().peekable();
    parts.peek().is_some() && parts.all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// Reads `index.json` back as JSON values.
pub(crate) fn read_index(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("index.json")).expect("read index");
    serde_json::from_str(&text).expect("index is JSON")
}
