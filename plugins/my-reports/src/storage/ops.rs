//! The write operations (rename, delete, save), each a journaled sequence of crash-safe steps
//! inside one write session.

use std::fs;
use std::io::Write;

use chrono::NaiveDateTime;
use vox_plugin::tracing;

use super::entry::{self, Entry};
use super::error::{PathRefusal, StorageError};
use super::index::{Edit, Index};
use super::journal::Intent;
use super::model::{Deleted, NewReport, Renamed, Report};
use super::session::Session;
use super::{Inner, atomic, counters, paths, timestamp};

/// Steps: journal; index with the new `question`; clear journal.
pub(crate) fn rename(
    inner: &Inner,
    user: i64,
    number: u32,
    expected_path: &str,
    new_title: &str,
) -> Result<Renamed, StorageError> {
    let session = Session::begin(inner)?;
    let renamed = session.edit(|index| {
        let Some((position, entry, old)) = lookup(index, user, number, expected_path) else {
            return Ok((None, Renamed::NotFound));
        };
        if old.title == new_title {
            return Ok((None, Renamed::Renamed { new: old.clone(), old }));
        }
        session.journal(&Intent::Rename {
            user_id: user,
            report_number: number,
            file_path: expected_path.to_owned(),
            new_title: new_title.to_owned(),
        })?;
        let entry = retitled(entry, new_title)?;
        let new = entry.report.clone().unwrap_or_else(|| old.clone());
        Ok((Some(Edit::Replace(position, entry)), Renamed::Renamed { old, new }))
    })?;
    session.finish()?;
    Ok(renamed)
}

/// Steps: counter above the number; journal; index without the entry; file; clear journal.
pub(crate) fn delete(
    inner: &Inner,
    user: i64,
    number: u32,
    expected_path: &str,
) -> Result<Deleted, StorageError> {
    let session = Session::begin(inner)?;
    let removed = session.edit(|index| {
        let Some((position, _, report)) = lookup(index, user, number, expected_path) else {
            return Ok((None, None));
        };
        counters::raise(&inner.counters_path, user, number.saturating_add(1))?;
        session.journal(&Intent::Delete {
            user_id: user,
            report_number: number,
            file_path: expected_path.to_owned(),
        })?;
        let shared = shared_file(index, user, expected_path, Some(position));
        Ok((Some(Edit::Remove(position)), Some((report, shared))))
    })?;
    let Some((report, shared)) = removed else { return Ok(Deleted::NotFound) };
    if !shared {
        remove_report_file(inner, user, &report.file_path)?;
    }
    session.finish()?;
    Ok(Deleted::Deleted(report))
}

/// Steps: counter past the new number; journal; report file; index with the entry; clear journal.
pub(crate) fn save(inner: &Inner, new: NewReport) -> Result<Report, StorageError> {
    let session = Session::begin(inner)?;
    let user = new.user_id;
    let report = session.edit(|index| {
        let mut counters = counters::load(&inner.counters_path)?;
        let number = counters::next_number(&counters, index, user)?;
        // A number is only given if the one after it exists too, so the counter can record it.
        let after = number.checked_add(1).ok_or(StorageError::NumbersExhausted { user_id: user })?;
        let timestamp = new.timestamp.unwrap_or_else(timestamp::now_local);
        let file_path = free_file_name(inner, index, user, timestamp);
        let report = Report {
            number,
            file_path,
            user_id: user,
            username: new.username,
            title: new.title,
            timestamp,
            size_bytes: new.content.len() as u64,
            tokens: new.tokens,
            search_type: new.search_type,
        };
        let entry = Entry::new(report.clone(), &timestamp::format(timestamp))?;
        counters.insert(user, after);
        counters::store(&inner.counters_path, &counters)?;
        session.journal(&Intent::Save {
            user_id: user,
            report_number: number,
            file_path: report.file_path.clone(),
            entry: entry.raw.clone(),
        })?;
        atomic::create_dir_durably(&inner.dir.join(paths::user_dir_name(user)))?;
        atomic::write_atomic(&inner.dir.join(&report.file_path), |out| out.write_all(&new.content))?;
        Ok((Some(Edit::Append(entry)), report))
    })?;
    session.finish()?;
    Ok(report)
}

/// The user's entry with this number and path (the report's identity): position, entry, report.
pub(crate) fn lookup<'a>(
    index: &'a Index,
    user: i64,
    number: u32,
    file_path: &str,
) -> Option<(usize, &'a Entry, Report)> {
    let position = index.find(user, number, file_path)?;
    let entry = index.entries().get(position)?;
    entry.report.clone().map(|report| (position, entry, report))
}

/// `old` with only its `question` changed.
pub(crate) fn retitled(old: &Entry, title: &str) -> Result<Entry, StorageError> {
    let raw = entry::with_question(&old.raw, title)?;
    let report = old.report.clone().map(|report| Report { title: title.to_owned(), ..report });
    Ok(Entry { raw, report })
}

/// Whether another well-formed entry of the user (not at `except`) references `file_path`: a
/// duplicated legacy entry must not lose its file when its twin is deleted.
pub(crate) fn shared_file(index: &Index, user: i64, file_path: &str, except: Option<usize>) -> bool {
    let owners = index.reports_of(user).filter(|r| r.file_path == file_path).count();
    owners > usize::from(except.is_some())
}

/// Deletes the report file. A file already gone is fine (the entry still goes); a path that does
/// not stay inside the user's directory is left alone and logged.
pub(crate) fn remove_report_file(inner: &Inner, user: i64, rel: &str) -> Result<(), StorageError> {
    match paths::removable_file(&inner.dir, user, rel) {
        Ok(path) => {
            atomic::remove_durably(&path)?;
        }
        Err(PathRefusal::Missing) => {
            tracing::warn!(user, file_path = rel, "report file was already missing; its entry was removed");
        }
        Err(reason) => {
            tracing::warn!(user, file_path = rel, %reason, "report entry removed but its file was not deleted");
        }
    }
    Ok(())
}

/// `user_<id>/voxpersona_YYYYmmdd_HHMMSS.txt`, or with `_2`, `_3`… if taken on disk or in the index.
fn free_file_name(inner: &Inner, index: &Index, user: i64, timestamp: NaiveDateTime) -> String {
    let stem = format!("{}/voxpersona_{}", paths::user_dir_name(user), timestamp.format("%Y%m%d_%H%M%S"));
    let mut attempt = 1u32;
    loop {
        let candidate = if attempt == 1 { format!("{stem}.txt") } else { format!("{stem}_{attempt}.txt") };
        let in_index = index.reports_of(user).any(|r| r.file_path == candidate);
        if !in_index && fs::symlink_metadata(inner.dir.join(&candidate)).is_err() {
            return candidate;
        }
        attempt += 1;
    }
}
