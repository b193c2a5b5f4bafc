//! Automatic rollbacks that outlive a restart: `rollout-override.json` beside the
//! config file names each plugin whose candidate the host switched off, and why,
//! until an operator clears it (`vox-host rollout clear-override`). With the
//! Redis backend they are shared by every replica ([`shared`]).

pub mod shared;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The file's name.
pub const OVERRIDE_FILE: &str = "rollout-override.json";

/// One plugin's override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    /// The candidate that was switched off.
    pub candidate: String,
    /// Which trigger fired, with its figures.
    pub reason: String,
    /// When (RFC 3339, UTC).
    pub at: String,
}

/// Overrides by plugin id.
pub type Overrides = BTreeMap<String, Override>;

/// Where the file lives: beside the config file, else in the data directory.
pub fn path(config: Option<&Path>, data_dir: &Path) -> PathBuf {
    match config.and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(OVERRIDE_FILE),
        Some(_) => PathBuf::from(OVERRIDE_FILE),
        None => data_dir.join(OVERRIDE_FILE),
    }
}

/// Reads the overrides; a missing file is none, an unreadable one is logged and
/// treated as none (the host keeps serving; the operator sees the error).
pub fn load(path: &Path) -> Overrides {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::error!(path = %path.display(), error = %e, "unreadable rollback override file ignored");
            Overrides::new()
        }),
        Err(_) => Overrides::new(),
    }
}

/// Where the overrides are kept: the file, or Redis for every replica.
#[derive(Debug, Clone)]
pub enum Source {
    /// `rollout-override.json` only (one process).
    File(PathBuf),
    /// Redis, mirrored to the file (replicas).
    Shared(Arc<shared::Shared>),
}

impl Source {
    /// What `settings` say: Redis with `state.backend = "redis"`, else the file
    /// beside `config` (or in the data directory).
    pub fn configured(settings: &crate::config::Settings, config: Option<&Path>) -> Result<Self, String> {
        let file = path(config, &settings.host.data_dir);
        Ok(match settings.state.backend {
            crate::config::StateBackend::Redis => Source::Shared(Arc::new(shared::Shared::new(
                settings.redis.url.trim(),
                &settings.redis.prefix,
                file,
            )?)),
            _ => Source::File(file),
        })
    }

    /// The file (the mirror when shared).
    pub fn path(&self) -> &Path {
        match self {
            Source::File(p) => p,
            Source::Shared(s) => s.mirror(),
        }
    }

    /// The standing overrides (blocking when shared).
    pub fn load(&self) -> Overrides {
        match self {
            Source::File(p) => load(p),
            Source::Shared(s) => s.load(),
        }
    }

    /// Stores the overrides (blocking when shared).
    pub fn save(&self, overrides: &Overrides) -> std::io::Result<()> {
        match self {
            Source::File(p) => save(p, overrides),
            Source::Shared(s) => s.save(overrides),
        }
    }

    /// How many times the shared overrides changed; `None` for a file (its
    /// stamp tells) or when Redis does not answer. Blocking.
    pub fn generation(&self) -> Option<u64> {
        match self {
            Source::File(_) => None,
            Source::Shared(s) => s.generation(),
        }
    }

    /// Shares applied changes' audit lines (a file source keeps only the local log).
    pub fn audit(&self, lines: &str) {
        if let Source::Shared(s) = self {
            s.audit(lines);
        }
    }
}

/// Writes the overrides atomically (temp file, fsync, rename); an empty map removes the file.
pub fn save(path: &Path, overrides: &Overrides) -> std::io::Result<()> {
    if overrides.is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(overrides).map_err(std::io::Error::other)?;
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_round_trip_and_an_empty_set_removes_the_file() {
        let dir = std::env::temp_dir().join(format!("vox-overrides-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = path(Some(&dir.join("vox.toml")), Path::new("/unused"));
        assert_eq!(file, dir.join(OVERRIDE_FILE));
        assert!(load(&file).is_empty());
        let mut o = Overrides::new();
        o.insert(
            "my_reports".into(),
            Override { candidate: "v2".into(), reason: "panics".into(), at: "t".into() },
        );
        save(&file, &o).expect("save");
        assert_eq!(load(&file), o);
        std::fs::write(&file, "not json").expect("corrupt");
        assert!(load(&file).is_empty(), "unreadable is none, not a crash");
        save(&file, &Overrides::new()).expect("clear");
        assert!(!file.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
