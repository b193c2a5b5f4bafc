//! Completing an operation the journal says was interrupted. Every step checks before acting, so
//! replaying a finished (or half-finished) operation is harmless.

use std::fs;

use vox_plugin::tracing;

use super::entry::Entry;
use super::error::StorageError;
use super::index::Edit;
use super::journal::{self, Intent};
use super::ops::{lookup, remove_report_file, retitled, shared_file};
use super::session::Session;
use super::{counters, paths};

/// Replays the journal, if any, then clears it. Runs at the start of every write session.
pub(crate) fn recover(session: &Session<'_>) -> Result<(), StorageError> {
    let inner = session.inner();
    let Some(intent) = journal::read(&inner.journal_path)? else { return Ok(()) };
    match intent {
        Intent::Delete { user_id, report_number, file_path } => {
            counters::raise(&inner.counters_path, user_id, report_number.saturating_add(1))?;
            let shared = session.edit(|index| {
                let position =
                    lookup(index, user_id, report_number, &file_path).map(|(position, _, _)| position);
                Ok((position.map(Edit::Remove), shared_file(index, user_id, &file_path, position)))
            })?;
            if !shared {
                remove_report_file(inner, user_id, &file_path)?;
            }
            tracing::warn!(
                user = user_id,
                report_number,
                file_path,
                "completed an interrupted report delete"
            );
        }
        Intent::Rename { user_id, report_number, file_path, new_title } => {
            session.edit(|index| match lookup(index, user_id, report_number, &file_path) {
                Some((position, entry, report)) if report.title != new_title => {
                    Ok((Some(Edit::Replace(position, retitled(entry, &new_title)?)), ()))
                }
                _ => Ok((None, ())),
            })?;
            tracing::warn!(
                user = user_id,
                report_number,
                file_path,
                "completed an interrupted report rename"
            );
        }
        Intent::Save { user_id, report_number, file_path, entry } => {
            // The file is written atomically before the entry: if it exists, it is complete.
            let written = paths::check_lexically(user_id, &file_path).is_ok()
                && fs::symlink_metadata(inner.dir.join(&file_path)).is_ok();
            let appended = session.edit(|index| {
                if !written || lookup(index, user_id, report_number, &file_path).is_some() {
                    return Ok((None, false));
                }
                match Entry::parse(entry) {
                    (entry, None) => Ok((Some(Edit::Append(entry)), true)),
                    (_, Some(problem)) => {
                        tracing::error!(%problem, file_path, "journaled report entry is malformed; not appended");
                        Ok((None, false))
                    }
                }
            })?;
            if written {
                tracing::warn!(
                    user = user_id,
                    report_number,
                    file_path,
                    appended,
                    "completed an interrupted report save"
                );
            } else {
                tracing::warn!(
                    user = user_id,
                    report_number,
                    file_path,
                    "rolled back an interrupted report save: its file was never written"
                );
            }
        }
    }
    journal::clear(&inner.journal_path)?;
    inner.recovered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}
