//! The run's work directory: config file, data directory (with the seeded
//! reports), the host's log and the details of failures. Removed at the end
//! unless kept (`--keep`, or a failed run, so the evidence stays).
//!
//! It goes to `$TMPDIR` when set; otherwise to `/dev/shm` when there is one
//! (tens of thousands of report files are seeded: tmpfs makes that a second),
//! else the system temp dir. A tmpfs too small for the reports falls back to
//! the next place (see `main.rs`).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A fresh directory under the system temp dir.
#[derive(Debug)]
pub struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    /// Where work directories may go, best first.
    pub fn bases() -> Vec<PathBuf> {
        let shm = Path::new("/dev/shm");
        if std::env::var_os("TMPDIR").is_none() && shm.is_dir() {
            vec![shm.to_owned(), std::env::temp_dir()]
        } else {
            vec![std::env::temp_dir()]
        }
    }

    /// Creates `vox-smoke-<pid>-<nanos>` in `base`.
    pub fn create_in(base: &Path) -> std::io::Result<WorkDir> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let path = base.join(format!("vox-smoke-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(WorkDir { path, keep: false })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The host's data directory (`VOX__HOST__DATA_DIR`).
    pub fn data_dir(&self) -> PathBuf {
        self.path.join("data")
    }

    /// my-reports' reports directory: `reports` inside the data directory.
    pub fn reports_dir(&self) -> PathBuf {
        self.data_dir().join("reports")
    }

    /// The config file given to the host.
    pub fn config_file(&self) -> PathBuf {
        self.path.join("vox.toml")
    }

    /// Where the host's stdout and stderr go.
    pub fn host_log(&self) -> PathBuf {
        self.path.join("host.log")
    }

    /// Where failure details (panics with chat transcripts) go.
    pub fn details_file(&self) -> PathBuf {
        self.path.join("details.txt")
    }

    /// Leaves the directory in place when dropped.
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
