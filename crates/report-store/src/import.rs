//! Many reports at once, keeping the numbers and file paths they already have:
//! fixtures, demo data and moving an existing collection in. One write session:
//! every file first, then one atomic index write with all the entries, so a
//! crash in between leaves orphan files (which the consistency scan reports),
//! never a half-written index. The files are not fsynced one by one — that is
//! what makes thousands of them fast —; a report that must survive a power loss
//! the moment it is stored goes through `save_report`.

use std::collections::{BTreeMap, HashSet};
use std::fs;

use super::entry::Entry;
use super::error::StorageError;
use super::index::Edit;
use super::model::Report;
use super::{Inner, apply, atomic, counters, paths, timestamp};

/// A report to import: its entry as it should read, and its file's bytes.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The entry; `number` and `file_path` are kept as given.
    pub report: Report,
    /// The report file's content; `size_bytes` is recorded as given.
    pub content: Vec<u8>,
}

/// Refuses the whole batch, naming the report, before anything is written.
fn refuse(report: &Report, why: &str) -> StorageError {
    StorageError::InvalidImport {
        user_id: report.user_id,
        report_number: report.number,
        file_path: report.file_path.clone(),
        reason: why.to_owned(),
    }
}

pub(crate) fn import(inner: &Inner, fence: u64, batch: Vec<Imported>) -> Result<usize, StorageError> {
    let session = apply::begin(inner, fence)?;
    // Every (user, number) already stored, once: a batch of thousands for a
    // user with thousands must not compare each against each.
    let users: HashSet<i64> = batch.iter().map(|i| i.report.user_id).collect();
    let mut taken: HashSet<(i64, u32)> = session.read(|index| {
        users.iter().flat_map(|&u| index.reports_of(u).map(move |r| (u, r.number))).collect()
    })?;
    let mut next: BTreeMap<i64, u32> = BTreeMap::new();
    for item in &batch {
        let r = &item.report;
        paths::check_lexically(r.user_id, &r.file_path).map_err(|e| refuse(r, &e.to_string()))?;
        if !taken.insert((r.user_id, r.number)) {
            return Err(refuse(r, "the user already has a report with this number"));
        }
        let after = r.number.checked_add(1).ok_or(StorageError::NumbersExhausted { user_id: r.user_id })?;
        let slot = next.entry(r.user_id).or_insert(0);
        *slot = (*slot).max(after);
    }
    let mut all = counters::load(&inner.counters_path)?;
    for (user, after) in next {
        let current = all.entry(user).or_insert(0);
        *current = (*current).max(after);
    }
    counters::store(&inner.counters_path, &all)?;

    let mut dirs = HashSet::new();
    let mut entries = Vec::with_capacity(batch.len());
    for Imported { report, content } in batch {
        let dir = inner.dir.join(paths::user_dir_name(report.user_id));
        if dirs.insert(dir.clone()) {
            atomic::create_dir_durably(&dir)?;
        }
        let path = inner.dir.join(&report.file_path);
        fs::write(&path, &content).map_err(|e| StorageError::io(&path, e))?;
        entries.push(Entry::new(report.clone(), &timestamp::format(report.timestamp))?);
    }
    for dir in &dirs {
        atomic::sync_dir(dir)?;
    }
    let imported = entries.len();
    session.edit(|_| Ok((Some(Edit::Append(entries)), ())))?;
    session.finish()?;
    Ok(imported)
}
