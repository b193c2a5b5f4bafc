//! The children the campaigns kill. Each writes a line before an operation
//! (`B …`) and after it (`D …`, or `A …` for an acknowledged state write),
//! flushed, so the parent knows what was in flight when the kill landed.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use vox_host::services::state::{DialogueState, SqliteStore, StateKey, StateStore};
use vox_report_store::{Deleted, NewReport, Renamed, Storage};

use crate::rng::Rng;

/// Users the report child writes for.
pub const USERS: u64 = 3;
/// Keys the state child writes.
pub const KEYS: u64 = 40;

fn say(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    // A parent that stopped reading is killing us anyway.
    let _ = out.write_fmt(line);
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

/// Rename, delete and save forever (until killed).
pub fn reports(dir: PathBuf, seed: u64) -> u8 {
    let storage = match Storage::open(&dir) {
        Ok(s) => s,
        Err(e) => {
            say(format_args!("X open {e}"));
            return 1;
        }
    };
    let mut rng = Rng::new(seed);
    for i in 0u64.. {
        let user = 1 + rng.below(USERS) as i64;
        let Ok(reports) = storage.list_blocking(user) else { continue };
        let pick = if reports.len() < 3 { 0 } else { rng.below(3) };
        let chosen = reports.get(rng.below(reports.len() as u64) as usize).cloned();
        match (pick, chosen) {
            (1, Some(r)) => {
                let title = format!("r{seed}-{i}");
                say(format_args!("B rename {user} {} {title}", r.number));
                match storage.rename_blocking(user, r.number, &r.file_path, &title) {
                    Ok(Renamed::Renamed { .. }) => say(format_args!("D rename {user} {} {title}", r.number)),
                    Ok(Renamed::NotFound) => say(format_args!("D missing {user} {} -", r.number)),
                    Err(e) => say(format_args!("E rename {user} {} {e}", r.number)),
                }
            }
            (2, Some(r)) => {
                say(format_args!("B delete {user} {} -", r.number));
                match storage.delete_blocking(user, r.number, &r.file_path) {
                    Ok(Deleted::Deleted(_)) => say(format_args!("D delete {user} {} -", r.number)),
                    Ok(Deleted::NotFound) => say(format_args!("D missing {user} {} -", r.number)),
                    Err(e) => say(format_args!("E delete {user} {} {e}", r.number)),
                }
            }
            _ => {
                let job = format!("j{seed}-{i}");
                say(format_args!("B save {user} 0 {job}"));
                let saved = storage.save_report_blocking(NewReport {
                    user_id: user,
                    username: None,
                    title: job.clone(),
                    search_type: "fast".into(),
                    tokens: i,
                    content: format!("body {job}").into_bytes(),
                    timestamp: None,
                    job_id: Some(job.clone()),
                });
                match saved {
                    Ok(r) => say(format_args!("D save {user} {} {job}", r.number)),
                    Err(e) => say(format_args!("E save {user} 0 {e}")),
                }
            }
        }
    }
    0
}

/// The one step the state child's dialogues are at.
pub fn resolve(
    plugin: &str,
    version: Option<&str>,
    step: &str,
) -> Option<(&'static str, Option<&'static str>, &'static str)> {
    (plugin == "crash" && version.is_none() && step == "s").then_some(("crash", None, "s"))
}

/// A dialogue carrying `n`, padded to a varying size.
pub fn dialogue(n: u64, pad: usize) -> DialogueState {
    DialogueState {
        plugin: "crash",
        version: None,
        step: "s",
        data: serde_json::json!({"n": n, "pad": "я".repeat(pad)}),
        deadline: Some(SystemTime::now() + Duration::from_secs(3600)),
    }
}

/// Writes dialogues forever (until killed); `n` starts at `seed << 32`.
pub fn state(path: PathBuf, seed: u64) -> u8 {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return 1 };
    let store = match SqliteStore::open(&path, &resolve) {
        Ok(s) => s,
        Err(e) => {
            say(format_args!("X open {e}"));
            return 1;
        }
    };
    let mut rng = Rng::new(seed);
    rt.block_on(async {
        for n in (seed << 32).. {
            let key = rng.below(KEYS) as i64;
            say(format_args!("B {key} {n}"));
            match store.set(StateKey { chat: key, user: key }, dialogue(n, rng.below(400) as usize)).await {
                Ok(()) => say(format_args!("A {key} {n}")),
                Err(e) => say(format_args!("E {key} {e}")),
            }
        }
    });
    0
}
