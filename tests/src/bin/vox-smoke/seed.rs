//! Seeds the reports directory before the host starts: the demo reports
//! (`vox_my_reports::storage::demo`, saved through the store) for each user of
//! the flow checks, plus the user whose list is over the size limit (see
//! `big_list.rs`).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::big_list::{self, BigList};

/// What was seeded.
#[derive(Debug)]
pub struct Seeded {
    /// The over-the-limit user's reports.
    pub big: BigList,
    /// Entries in `index.json`, all users.
    pub entries: usize,
    /// Size of `index.json`.
    pub index_bytes: u64,
    /// How long seeding took.
    pub took: Duration,
}

/// Writes `reports/` (created) with demo reports for each of `demo_users` and
/// a list of over `limit` bytes for `big_user` (within `budget`, see `big_list.rs`).
pub fn seed(
    reports: &Path,
    demo_users: &[i64],
    big_user: i64,
    limit: u64,
    budget: Duration,
) -> std::io::Result<Seeded> {
    let started = Instant::now();
    std::fs::create_dir_all(reports)?;
    let storage = vox_my_reports::Storage::open(reports).map_err(std::io::Error::other)?;
    for &user in demo_users {
        vox_my_reports::storage::demo::seed_demo(&storage, user).map_err(std::io::Error::other)?;
    }
    drop(storage);
    let index = std::fs::read_to_string(reports.join("index.json"))?;
    let mut entries: Vec<Value> = serde_json::from_str(&index).map_err(std::io::Error::other)?;
    let big = big_list::seed(reports, big_user, limit, budget, &mut entries)?;
    // As the Python bot writes it: json.dump(indent=2, ensure_ascii=False).
    let text = serde_json::to_string_pretty(&entries).map_err(std::io::Error::other)?;
    std::fs::write(reports.join("index.json"), &text)?;
    Ok(Seeded { big, entries: entries.len(), index_bytes: text.len() as u64, took: started.elapsed() })
}
