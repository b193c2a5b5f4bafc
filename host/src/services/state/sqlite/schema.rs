//! The store file: taking it for this process, checking it, setting a
//! damaged one aside, and migrating it to [`LATEST`]. The schema version is
//! SQLite's `user_version`; each migration is applied once, in order, in one
//! transaction with the version it reaches.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode};

/// Schema steps, version `i + 1` after `MIGRATIONS[i]`.
const MIGRATIONS: &[&str] = &[
    // 1: dialogues, one per (chat, user).
    "CREATE TABLE dialogues (
        chat INTEGER NOT NULL,
        user INTEGER NOT NULL,
        plugin TEXT NOT NULL,
        version TEXT,
        step TEXT NOT NULL,
        data TEXT NOT NULL,
        deadline_ms INTEGER,
        PRIMARY KEY (chat, user)
    ) WITHOUT ROWID;",
    // 2: plugins' own per-user values (sent-list snapshots), with their expiry.
    "CREATE TABLE plugin_values (
        plugin TEXT NOT NULL,
        chat INTEGER NOT NULL,
        user INTEGER NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        expires_ms INTEGER NOT NULL,
        PRIMARY KEY (plugin, chat, user, name)
    ) WITHOUT ROWID;
    CREATE INDEX plugin_values_expiry ON plugin_values (expires_ms);",
    // 3: webhook updates accepted (Telegram was answered 200) and not handled yet.
    "CREATE TABLE inbox (
        update_id INTEGER PRIMARY KEY,
        body TEXT NOT NULL,
        received_ms INTEGER NOT NULL
    );",
];

/// The schema version this binary writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// How long start waits for a previous process to let go of the store (a
/// restart whose old process is still shutting down).
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Why the store cannot be opened: the host refuses to start (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Written by a newer binary.
    #[error(
        "state store {path}: schema version {found} is newer than this binary understands ({LATEST}); \
         run the newer release, or move the file away to start with no open dialogues"
    )]
    Newer {
        /// The store file.
        path: PathBuf,
        /// Its schema version.
        found: u32,
    },
    /// Another process holds it.
    #[error(
        "state store {path}: another vox-host process is using it (its lock {lock} stayed taken); \
         one store serves one process — stop the other one, or give this one its own `host.data_dir`"
    )]
    Locked {
        /// The store file.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The file or its folder cannot be used.
    #[error("state store {path}: {message}")]
    Unusable {
        /// The store file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// An open, checked, current store.
pub struct Opened {
    /// The connection (the worker thread's from now on).
    pub conn: Connection,
    /// Held while the process uses the store; released on drop (and by the
    /// kernel when the process dies, so a killed host never blocks the next).
    pub lock: File,
    /// Where a damaged file was moved, if it was.
    pub set_aside: Option<PathBuf>,
}

fn unusable(path: &Path, what: impl std::fmt::Display) -> OpenError {
    OpenError::Unusable { path: path.to_owned(), message: what.to_string() }
}

/// Opens `path` for this process: locked (waiting up to `wait` for another
/// process to let go), checked, migrated.
pub fn open(path: &Path, wait: Duration) -> Result<Opened, OpenError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| unusable(path, format!("cannot create its folder: {e}")))?;
    }
    let lock = take_lock(path, wait)?;
    let (conn, set_aside) = match connect(path) {
        Ok(conn) => (conn, None),
        Err(Damage::Refused(e)) => return Err(e),
        Err(Damage::Damaged(why)) => {
            let moved =
                set_aside(path).map_err(|e| unusable(path, format!("{why}; moving it aside failed: {e}")))?;
            tracing::error!(
                store = %path.display(),
                moved_to = %moved.display(),
                reason = %why,
                "state store is damaged: set aside, starting with no open dialogues (users of open ones are told \
                 their list is outdated); keep the moved file for a post-mortem",
            );
            let conn = connect(path).map_err(|d| match d {
                Damage::Refused(e) => e,
                Damage::Damaged(why) => unusable(path, why),
            })?;
            (conn, Some(moved))
        }
    };
    Ok(Opened { conn, lock, set_aside })
}

fn take_lock(path: &Path, wait: Duration) -> Result<File, OpenError> {
    let lock_path = sibling(path, ".lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| unusable(path, format!("cannot open its lock file {}: {e}", lock_path.display())))?;
    let started = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(OpenError::Locked { path: path.to_owned(), lock: lock_path });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(unusable(path, format!("cannot lock {}: {e}", lock_path.display())));
            }
        }
    }
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

enum Damage {
    /// Not this binary's to fix: refuse to start.
    Refused(OpenError),
    /// Not a usable database: set it aside.
    Damaged(String),
}

fn damaged(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt))
}

fn classify(path: &Path, e: rusqlite::Error) -> Damage {
    if damaged(&e) { Damage::Damaged(e.to_string()) } else { Damage::Refused(unusable(path, e)) }
}

fn connect(path: &Path) -> Result<Connection, Damage> {
    let conn = Connection::open(path).map_err(|e| classify(path, e))?;
    // WAL with synchronous=NORMAL: a commit is in the log before `set` returns,
    // so it survives the process being killed; only an OS crash or power loss
    // can take the last commits (see docs/RELIABILITY.md).
    let mode: String =
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(|e| classify(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Damage::Refused(unusable(
            path,
            format!("cannot use write-ahead logging (journal mode {mode})"),
        )));
    }
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| classify(path, e))?;
    let check: String =
        conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(|e| classify(path, e))?;
    if check != "ok" {
        return Err(Damage::Damaged(format!("integrity check failed: {check}")));
    }
    let found: u32 =
        conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| classify(path, e))?;
    if found > LATEST {
        return Err(Damage::Refused(OpenError::Newer { path: path.to_owned(), found }));
    }
    migrate(&conn, found).map_err(|e| classify(path, e))?;
    Ok(conn)
}

/// Applies the migrations after `from`.
fn migrate(conn: &Connection, from: u32) -> rusqlite::Result<()> {
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        let to = i + 1;
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {sql} PRAGMA user_version = {to}; COMMIT;"))?;
        if from > 0 {
            tracing::info!(from, to, "state store migrated");
        }
    }
    Ok(())
}

/// Moves a damaged store and its log aside as `<file>.damaged-<unix secs>`.
fn set_aside(path: &Path) -> std::io::Result<PathBuf> {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let moved = sibling(path, &format!(".damaged-{secs}"));
    std::fs::rename(path, &moved)?;
    for log in ["-wal", "-shm"] {
        let from = sibling(path, log);
        if from.exists() {
            std::fs::rename(&from, sibling(&moved, log))?;
        }
    }
    Ok(moved)
}

/// Brings a store up to schema `version` only (tests of the migration path).
#[cfg(test)]
pub fn create_at(path: &Path, version: u32) -> rusqlite::Result<()> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    for (i, sql) in MIGRATIONS.iter().enumerate().take(version as usize) {
        conn.execute_batch(&format!("BEGIN; {sql} PRAGMA user_version = {}; COMMIT;", i + 1))?;
    }
    Ok(())
}
