//! `[plugins.my_reports]`: where the reports live and the limits of the v2 flow.

use std::path::PathBuf;

use serde::Deserialize;
use vox_plugin::{ConfigError, PluginConfig};

/// The plugin's config section (the host takes `enabled` and `version` out first).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// VoxPersona's reports directory: `index.json` and `user_<id>/` folders.
    /// Relative paths are inside the host's `data_dir`.
    #[serde(default = "default_reports_dir")]
    pub reports_dir: PathBuf,
    /// How long a sent list's numbers stay valid, seconds.
    #[serde(default = "default_snapshot_ttl")]
    pub snapshot_ttl_secs: u64,
    /// A TXT (or CSV/JSON) list larger than this is not sent, bytes.
    #[serde(default = "default_max_list_bytes")]
    pub max_list_bytes: u64,
    /// How long an operation waits for the same user's running one, milliseconds.
    #[serde(default = "default_lock_wait_ms")]
    pub lock_wait_ms: u64,
    /// Wrong answers in a row before a step gives up.
    #[serde(default = "default_max_wrong_inputs")]
    pub max_wrong_inputs: u32,
    /// Who else writes `reports_dir`, and so which lock a rename or delete takes.
    #[serde(default)]
    pub reports_lock: ReportsLock,
}

/// The writers' lock of the reports directory (`reports_lock`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportsLock {
    /// Only processes on this machine write it: the directory's `flock` excludes them.
    #[default]
    Local,
    /// Replicas on several machines share it (NFS and the like, where `flock` is not to be
    /// trusted): each write also takes the plugin's shared lock `reports` (in Redis, so the host
    /// runs with `[state] backend = "redis"`) and writes with its fencing token, which the store
    /// checks against `.vox-fence`.
    Shared,
}

fn default_reports_dir() -> PathBuf {
    PathBuf::from("reports")
}
fn default_snapshot_ttl() -> u64 {
    300
}
fn default_max_list_bytes() -> u64 {
    10 * 1024 * 1024
}
fn default_lock_wait_ms() -> u64 {
    2000
}
fn default_max_wrong_inputs() -> u32 {
    3
}

impl PluginConfig for Config {
    /// Checks the values that serde alone cannot (no side effects: the
    /// operator's commands and config reload call it).
    fn validate(&self) -> Result<(), ConfigError> {
        if self.reports_dir.as_os_str().is_empty() {
            return Err(ConfigError::new("reports_dir", "must not be empty"));
        }
        if !(1..=86_400).contains(&self.snapshot_ttl_secs) {
            return Err(ConfigError::new("snapshot_ttl_secs", "must be between 1 and 86400 seconds"));
        }
        if !(1024..=50 * 1024 * 1024).contains(&self.max_list_bytes) {
            return Err(ConfigError::new(
                "max_list_bytes",
                "must be between 1024 and 52428800 (Telegram's upload limit)",
            ));
        }
        if self.lock_wait_ms > 60_000 {
            return Err(ConfigError::new("lock_wait_ms", "must be at most 60000"));
        }
        if !(1..=20).contains(&self.max_wrong_inputs) {
            return Err(ConfigError::new("max_wrong_inputs", "must be between 1 and 20"));
        }
        Ok(())
    }

    /// The reports directory, wherever it lives: backups must hold it.
    fn data_paths(&self, setup: &vox_plugin::Setup) -> Vec<PathBuf> {
        vec![setup.resolve(&self.reports_dir)]
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            reports_dir: default_reports_dir(),
            snapshot_ttl_secs: default_snapshot_ttl(),
            max_list_bytes: default_max_list_bytes(),
            lock_wait_ms: default_lock_wait_ms(),
            max_wrong_inputs: default_max_wrong_inputs(),
            reports_lock: ReportsLock::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vox_plugin::PluginConfig;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        assert!(Config::default().validate().is_ok());
        let bad = Config { snapshot_ttl_secs: 0, ..Config::default() };
        assert_eq!(bad.validate().expect_err("zero ttl").key, "snapshot_ttl_secs");
        let bad = Config { max_list_bytes: 100 * 1024 * 1024, ..Config::default() };
        assert_eq!(bad.validate().expect_err("too big").key, "max_list_bytes");
        let bad = Config { max_wrong_inputs: 0, ..Config::default() };
        assert_eq!(bad.validate().expect_err("zero tries").key, "max_wrong_inputs");
    }
}
