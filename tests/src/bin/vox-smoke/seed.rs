//! Seeds the reports directory before the host starts: the demo reports
//! (`vox_report_store::demo`, saved through the store) for each user of
//! the flow checks, plus the user whose list is over the size limit (see
//! `big_list.rs`).

use std::path::Path;
use std::time::{Duration, Instant};

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
    let storage = vox_report_store::Storage::open(reports).map_err(std::io::Error::other)?;
    let mut entries = 0;
    for &user in demo_users {
        entries += vox_report_store::demo::seed_demo(&storage, user).map_err(std::io::Error::other)?.len();
    }
    let big = big_list::seed(&storage, big_user, limit, budget)?;
    entries += big.reports;
    let index_bytes = std::fs::metadata(reports.join("index.json"))?.len();
    Ok(Seeded { big, entries, index_bytes, took: started.elapsed() })
}
