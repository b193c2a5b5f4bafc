//! The steps of each write intent, in one place: an operation's first run and
//! the replay of an interrupted one (from the journal) both go through
//! [`apply`]. Every step checks before acting, so applying an intent that is
//! already (half) done is harmless.

use std::fs;

use super::entry::{self, Entry};
use super::error::{PathRefusal, StorageError};
use super::index::{Edit, Index};
use super::journal::{self, Intent};
use super::model::Report;
use super::session::Session;
use super::{Inner, counters, paths};

/// What applying an intent found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Applied {
    /// Save: the report file was there (written before the journal's last step).
    pub written: bool,
    /// Save: its entry was appended now (it was not in the index yet).
    pub appended: bool,
}

/// A write session with any interrupted operation completed first: how every
/// write (and `open`) starts.
pub(crate) fn begin(inner: &Inner, fence: u64) -> Result<Session<'_>, StorageError> {
    let session = Session::begin(inner, fence)?;
    replay(&session)?;
    Ok(session)
}

/// Carries out `intent`'s steps that are not done yet.
pub(crate) fn apply(session: &Session<'_>, intent: &Intent) -> Result<Applied, StorageError> {
    let inner = session.inner();
    let mut applied = Applied { written: false, appended: false };
    match intent {
        Intent::Delete { user_id, report_number, file_path } => {
            let (user, number) = (*user_id, *report_number);
            counters::raise(&inner.counters_path, user, number.saturating_add(1))?;
            let shared = session.edit(|index| {
                let position = lookup(index, user, number, file_path).map(|(position, _, _)| position);
                Ok((position.map(Edit::Remove), shared_file(index, user, file_path, position)))
            })?;
            if !shared {
                remove_report_file(inner, user, file_path)?;
            }
        }
        Intent::Rename { user_id, report_number, file_path, new_title } => {
            session.edit(|index| match lookup(index, *user_id, *report_number, file_path) {
                Some((position, entry, report)) if report.title != *new_title => {
                    Ok((Some(Edit::Replace(position, retitled(entry, new_title)?)), ()))
                }
                _ => Ok((None, ())),
            })?;
        }
        Intent::Save { user_id, report_number, file_path, entry } => {
            // The file is written atomically before the entry: if it exists, it is complete.
            applied.written = paths::check_lexically(*user_id, file_path).is_ok()
                && fs::symlink_metadata(inner.dir.join(file_path)).is_ok();
            applied.appended = session.edit(|index| {
                if !applied.written || lookup(index, *user_id, *report_number, file_path).is_some() {
                    return Ok((None, false));
                }
                match Entry::parse(entry.clone()) {
                    (entry, None) => Ok((Some(Edit::Append(vec![entry])), true)),
                    (_, Some(problem)) => {
                        tracing::error!(%problem, file_path, "journaled report entry is malformed; not appended");
                        Ok((None, false))
                    }
                }
            })?;
        }
    }
    Ok(applied)
}

/// After [`apply`] failed in the operation's own session, makes what the
/// caller is told true. If the intent's effect is already in the index (the
/// index write went through, a later step failed), it took effect: `Ok`, and
/// the journal stays for the next write to finish the rest (the deleted
/// report's file). If not, whatever it did is undone (a saved report's file
/// removed) and the journal cleared, so no later replay completes behind the
/// caller's back an operation they were told failed: `Err(error)`.
pub(crate) fn settle_failed(
    session: &Session<'_>,
    intent: &Intent,
    error: StorageError,
) -> Result<(), StorageError> {
    let took_effect = session.read(|index| match intent {
        Intent::Rename { user_id, report_number, file_path, new_title } => {
            lookup(index, *user_id, *report_number, file_path).is_some_and(|(_, _, r)| r.title == *new_title)
        }
        Intent::Delete { user_id, report_number, file_path } => {
            lookup(index, *user_id, *report_number, file_path).is_none()
        }
        Intent::Save { user_id, report_number, file_path, .. } => {
            lookup(index, *user_id, *report_number, file_path).is_some()
        }
    });
    let took_effect = match took_effect {
        Ok(took) => took,
        Err(read) => {
            // Cannot tell: the journal stays and the next write decides.
            tracing::error!(error = %error, read = %read, intent = ?intent, "a report operation failed and its outcome cannot be read back");
            return Err(error);
        }
    };
    if took_effect {
        tracing::warn!(error = %error, intent = ?intent, "a report operation took effect but a later step failed; the next write finishes it");
        return Ok(());
    }
    if let Intent::Save { user_id, file_path, .. } = intent
        && paths::check_lexically(*user_id, file_path).is_ok()
        && let Err(e) = super::atomic::remove_durably(&session.inner().dir.join(file_path))
    {
        tracing::warn!(error = %e, file_path, "could not remove the file of a save that failed; it is an orphan now");
    }
    if let Err(e) = journal::clear(&session.inner().journal_path) {
        tracing::error!(
            error = %e,
            intent = ?intent,
            "a failed report operation's journal could not be cleared: the next write may still complete it"
        );
    }
    Err(error)
}

/// Failed replays of one journal (each in its own write session) before it is set aside.
const REPLAY_ATTEMPTS: u64 = 3;

/// Whether a failed replay may succeed when tried again (a busy lock, a full
/// disk being cleaned) or never will (no permission, a read-only filesystem,
/// a side file we refuse to overwrite).
fn lasting(e: &StorageError) -> bool {
    match e {
        StorageError::Io { source, .. } => matches!(
            source.kind(),
            std::io::ErrorKind::PermissionDenied
                | std::io::ErrorKind::ReadOnlyFilesystem
                | std::io::ErrorKind::IsADirectory
                | std::io::ErrorKind::NotADirectory
        ),
        StorageError::CorruptIndex { .. } | StorageError::CorruptState { .. } => true,
        _ => false,
    }
}

/// Replays the journal, if any, then clears it. A replay that fails for good
/// (or [`REPLAY_ATTEMPTS`] times) sets the journal aside, so one stuck
/// operation never blocks every later write of every user.
fn replay(session: &Session<'_>) -> Result<(), StorageError> {
    let inner = session.inner();
    let Some(intent) = journal::read(&inner.journal_path)? else { return Ok(()) };
    let applied = match apply(session, &intent) {
        Ok(applied) => applied,
        Err(e) => {
            let attempts = inner.replay_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if !lasting(&e) && attempts < REPLAY_ATTEMPTS {
                tracing::warn!(error = %e, attempts, "an interrupted operation could not be completed yet; the next write tries again");
                return Err(e);
            }
            let aside = journal::set_aside(&inner.journal_path, "failed")?;
            inner.replay_failures.store(0, std::sync::atomic::Ordering::Relaxed);
            inner.journals_set_aside.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::error!(
                error = %e,
                attempts,
                intent = ?intent,
                moved_to = %aside.display(),
                "an interrupted report operation cannot be completed; its journal was set aside and writes go on. \
                 Fix what the error names (permissions, a read-only disk, a corrupt side file), then redo the \
                 operation by hand if it is still wanted"
            );
            return Ok(());
        }
    };
    match &intent {
        Intent::Delete { user_id, report_number, file_path } => {
            tracing::warn!(
                user = user_id,
                report_number,
                file_path,
                "completed an interrupted report delete"
            );
        }
        Intent::Rename { user_id, report_number, file_path, .. } => {
            tracing::warn!(
                user = user_id,
                report_number,
                file_path,
                "completed an interrupted report rename"
            );
        }
        Intent::Save { user_id, report_number, file_path, .. } if applied.written => {
            tracing::warn!(
                user = user_id,
                report_number,
                file_path,
                appended = applied.appended,
                "completed an interrupted report save"
            );
        }
        Intent::Save { user_id, report_number, file_path, .. } => {
            tracing::warn!(
                user = user_id,
                report_number,
                file_path,
                "rolled back an interrupted report save: its file was never written"
            );
        }
    }
    journal::clear(&inner.journal_path)?;
    inner.recovered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(())
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
fn retitled(old: &Entry, title: &str) -> Result<Entry, StorageError> {
    let raw = entry::with_question(&old.raw, title)?;
    let report = old.report.clone().map(|report| Report { title: title.to_owned(), ..report });
    Ok(Entry { raw, report })
}

/// Whether another well-formed entry of the user (not at `except`) references `file_path`: a
/// duplicated legacy entry must not lose its file when its twin is deleted.
fn shared_file(index: &Index, user: i64, file_path: &str, except: Option<usize>) -> bool {
    let owners = index.reports_of(user).filter(|r| r.file_path == file_path).count();
    owners > usize::from(except.is_some())
}

/// Deletes the report file. A file already gone is fine (the entry still goes); a path that does
/// not stay inside the user's directory is left alone and logged.
fn remove_report_file(inner: &Inner, user: i64, rel: &str) -> Result<(), StorageError> {
    match paths::removable_file(&inner.dir, user, rel) {
        Ok(path) => {
            super::atomic::remove_durably(&path)?;
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
