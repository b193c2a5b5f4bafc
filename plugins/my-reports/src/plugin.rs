//! [`MyReports`]: the plugin's state — its config, the report store both
//! versions share, the sent lists' snapshots, the counters — its constructor
//! (called only by the serving process) and its live config changes.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use vox_plugin::{ConfigError, PluginConfig, Setup};

use crate::Config;
use crate::snapshot::Snapshots;
use crate::storage::Storage;
use crate::telemetry::metrics::Metrics;
use crate::telemetry::overlaps::InFlight;

/// The plugin: its config, the storage both versions share, list snapshots,
/// counters. Config and storage sit behind locks only a config reload writes,
/// so every key can change without a restart.
pub struct MyReports {
    config: RwLock<Arc<Config>>,
    storage: RwLock<Storage>,
    pub(crate) snapshots: Snapshots,
    pub(crate) metrics: Arc<Metrics>,
    /// Users with a confirmed action running (the lock trigger's watch).
    pub(crate) acting: InFlight,
}

impl MyReports {
    /// Opens the reports directory (creating it if missing; a relative path is
    /// inside the host's data directory) and checks the config. Called only by
    /// the serving process: the operator's commands use [`PluginConfig::validate`].
    pub fn new(config: Config, setup: &Setup) -> Result<Self, ConfigError> {
        config.validate()?;
        let storage = open_storage(&config, setup)?;
        let snapshots = Snapshots::new(Duration::from_secs(config.snapshot_ttl_secs));
        Ok(Self {
            config: RwLock::new(Arc::new(config)),
            storage: RwLock::new(storage),
            snapshots,
            metrics: Arc::new(Metrics::default()),
            acting: InFlight::default(),
        })
    }

    /// Takes a changed (already validated) config live: limits and the
    /// snapshot time-to-live at once, a new `reports_dir` by opening it first
    /// (a directory that cannot be opened refuses the change and keeps the old one).
    pub fn reconfigure(&self, config: Config, setup: &Setup) -> Result<(), ConfigError> {
        if config.reports_dir != self.config().reports_dir {
            let storage = open_storage(&config, setup)?;
            *self.storage.write().unwrap_or_else(|p| p.into_inner()) = storage;
        }
        self.snapshots.set_ttl(Duration::from_secs(config.snapshot_ttl_secs));
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(config);
        Ok(())
    }

    /// The config now.
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The storage, for other plugins' `save_report` and for tests (a cheap handle).
    pub fn storage(&self) -> Storage {
        self.storage.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The counters.
    pub fn counters(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub(crate) fn lock_wait(&self) -> Duration {
        Duration::from_millis(self.config().lock_wait_ms)
    }
}

fn open_storage(config: &Config, setup: &Setup) -> Result<Storage, ConfigError> {
    let dir = setup.resolve(&config.reports_dir);
    Storage::open(&dir)
        .map_err(|e| ConfigError::new("reports_dir", format!("cannot open `{}`: {e}", dir.display())))
}
