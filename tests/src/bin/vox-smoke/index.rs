//! Reading the reports directory the way VoxPersona lays it out: `index.json`
//! (one array of entries for all users) and `user_<id>/` files — to know what
//! was seeded and to check on disk what the host did.

use std::path::PathBuf;

use serde_json::Value;

/// One entry of `index.json`, the fields a check needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// `report_number`: the stable number the list shows after `№`.
    pub number: u64,
    /// `question`: the title.
    pub title: String,
    /// `file_path`, relative to the reports directory.
    pub file_path: String,
    /// The whole entry, to compare fields that must not change.
    pub raw: Value,
}

/// The reports directory.
#[derive(Debug, Clone)]
pub struct Reports {
    dir: PathBuf,
}

impl Reports {
    /// The directory holding `index.json`.
    pub fn new(dir: PathBuf) -> Reports {
        Reports { dir }
    }

    /// Every entry of `index.json`, as stored now.
    pub fn all(&self) -> Result<Vec<Value>, String> {
        let path = self.dir.join("index.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{} is not a JSON array: {e}", path.display()))
    }

    /// `user`'s entries, in index order.
    pub fn of(&self, user: i64) -> Result<Vec<Entry>, String> {
        Ok(self.all()?.into_iter().filter(|e| e["user_id"] == user).filter_map(entry).collect())
    }

    /// `user`'s entry with `number`, if present.
    pub fn find(&self, user: i64, number: u64) -> Result<Option<Entry>, String> {
        Ok(self.of(user)?.into_iter().find(|e| e.number == number))
    }

    /// The absolute path of an entry's file.
    pub fn file(&self, entry: &Entry) -> PathBuf {
        self.dir.join(&entry.file_path)
    }
}

fn entry(raw: Value) -> Option<Entry> {
    Some(Entry {
        number: raw["report_number"].as_u64()?,
        title: raw["question"].as_str()?.to_owned(),
        file_path: raw["file_path"].as_str()?.to_owned(),
        raw,
    })
}
