//! The write operations (rename, delete, save): each decides its intent on the
//! current index, journals it, and has [`apply`](super::apply) carry it out —
//! the same steps a replay after a crash takes.

use std::fs;
use std::io::Write;

use chrono::NaiveDateTime;

use super::apply::{self, lookup};
use super::entry::Entry;
use super::error::StorageError;
use super::index::Index;
use super::journal::Intent;
use super::model::{Deleted, NewReport, Renamed, Report};
use super::session::Session;
use super::{Inner, atomic, counters, paths, timestamp};

/// Journal the new `question`, apply, clear the journal.
pub(crate) fn rename(
    inner: &Inner,
    fence: u64,
    user: i64,
    number: u32,
    expected_path: &str,
    new_title: &str,
) -> Result<Renamed, StorageError> {
    let session = apply::begin(inner, fence)?;
    let found = session.read(|index| lookup(index, user, number, expected_path).map(|(_, _, r)| r))?;
    let Some(old) = found else { return Ok(Renamed::NotFound) };
    if old.title == new_title {
        return Ok(Renamed::Renamed { new: old.clone(), old });
    }
    let intent = Intent::Rename {
        user_id: user,
        report_number: number,
        file_path: expected_path.to_owned(),
        new_title: new_title.to_owned(),
    };
    session.journal(&intent)?;
    carry_out(session, &intent)?;
    let new = Report { title: new_title.to_owned(), ..old.clone() };
    Ok(Renamed::Renamed { old, new })
}

/// Journal the delete, apply (counter above the number, index without the
/// entry, the file), clear the journal.
pub(crate) fn delete(
    inner: &Inner,
    fence: u64,
    user: i64,
    number: u32,
    expected_path: &str,
) -> Result<Deleted, StorageError> {
    let session = apply::begin(inner, fence)?;
    let found = session.read(|index| lookup(index, user, number, expected_path).map(|(_, _, r)| r))?;
    let Some(report) = found else { return Ok(Deleted::NotFound) };
    // The number is retired before the intent is journaled: a store whose counters cannot be
    // written refuses the delete instead of journaling one no replay could finish.
    counters::raise(&inner.counters_path, user, number.saturating_add(1))?;
    let intent = Intent::Delete { user_id: user, report_number: number, file_path: expected_path.to_owned() };
    session.journal(&intent)?;
    carry_out(session, &intent)?;
    Ok(Deleted::Deleted(report))
}

/// Counter past the new number; journal; the report file; apply (the index
/// with the entry); clear the journal.
pub(crate) fn save(inner: &Inner, fence: u64, new: NewReport) -> Result<Report, StorageError> {
    let session = apply::begin(inner, fence)?;
    let user = new.user_id;
    if let Some(job) = new.job_id.as_deref() {
        let stored = session
            .read(|index| index.reports_of(user).find(|r| r.job_id.as_deref() == Some(job)).cloned())?;
        if let Some(stored) = stored {
            tracing::info!(
                user,
                job_id = job,
                number = stored.number,
                "save retried: the report is already stored"
            );
            return Ok(stored);
        }
    }
    let (report, entry) = session.read(|index| -> Result<(Report, Entry), StorageError> {
        let mut counters = counters::load(&inner.counters_path)?;
        let number = counters::next_number(&counters, index, user)?;
        // A number is only given if the one after it exists too, so the counter can record it.
        let after = number.checked_add(1).ok_or(StorageError::NumbersExhausted { user_id: user })?;
        let timestamp = new.timestamp.unwrap_or_else(timestamp::now_local);
        let report = Report {
            number,
            file_path: free_file_name(inner, index, user, timestamp),
            user_id: user,
            username: new.username.clone(),
            title: new.title.clone(),
            timestamp,
            size_bytes: new.content.len() as u64,
            tokens: new.tokens,
            search_type: new.search_type.clone(),
            job_id: new.job_id.clone(),
        };
        let entry = Entry::new(report.clone(), &timestamp::format(timestamp))?;
        counters.insert(user, after);
        counters::store(&inner.counters_path, &counters)?;
        Ok((report, entry))
    })??;
    let intent = Intent::Save {
        user_id: user,
        report_number: report.number,
        file_path: report.file_path.clone(),
        entry: entry.raw,
    };
    session.journal(&intent)?;
    let written = atomic::create_dir_durably(&inner.dir.join(paths::user_dir_name(user))).and_then(|()| {
        atomic::write_atomic(&inner.dir.join(&report.file_path), |out| out.write_all(&new.content))
    });
    if let Err(e) = written {
        return apply::settle_failed(&session, &intent, e).map(|()| report);
    }
    carry_out(session, &intent)?;
    Ok(report)
}

/// Applies a journaled intent in its own session; on failure, settles what
/// the caller is told ([`apply::settle_failed`]). `Ok` means it took effect.
fn carry_out(session: Session<'_>, intent: &Intent) -> Result<(), StorageError> {
    if let Err(e) = apply::apply(&session, intent) {
        return apply::settle_failed(&session, intent, e);
    }
    if let Err(e) = session.finish() {
        // Done in full: the journal left behind replays as a no-op.
        tracing::warn!(error = %e, "a finished report operation's journal could not be cleared");
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
