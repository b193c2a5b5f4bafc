//! [`Setup`]: what the host tells a plugin while building it, besides its own
//! config section — today the data directory that relative paths resolve against.

use std::path::{Path, PathBuf};

/// Host facts a plugin's constructor may need.
///
/// ```
/// use std::path::Path;
/// let setup = vox_plugin::Setup::new("/var/lib/vox");
/// assert_eq!(setup.resolve(Path::new("reports")), Path::new("/var/lib/vox/reports"));
/// assert_eq!(setup.resolve(Path::new("/srv/reports")), Path::new("/srv/reports"));
/// ```
#[derive(Debug, Clone)]
pub struct Setup {
    data_dir: PathBuf,
}

impl Setup {
    /// Setup with the host's data directory (`host.data_dir`).
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self { data_dir: data_dir.into() }
    }

    /// The host's data directory; a plugin keeps its files under it.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `path` if absolute, else `path` inside the data directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() { path.to_owned() } else { self.data_dir.join(path) }
    }
}
