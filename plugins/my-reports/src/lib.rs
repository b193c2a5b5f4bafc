//! # vox-my-reports — "Мои отчеты"
//!
//! ```text
//! user: [📄 Мои отчеты]
//! bot:  📎 Мои_отчеты.txt   "№12. 15.01.2025 14:30 — Встреча с клиентом …"
//!       Выберите действие, затем введите номер отчета из списка.
//!       [👁️ Посмотреть] [✏️ Переименовать] [🗑️ Удалить] …  [« Назад]
//! user: [🗑️ Удалить]
//! bot:  🗑️ Какой отчет удалить? Введите его номер из списка …
//! user: 12
//! bot:  🗑️ Удалить отчет №12 «Встреча с клиентом»?  [✅ Да, удалить] [❌ Отмена]
//! user: [✅ Да, удалить]
//! bot:  🗑️ Отчет №12 «Встреча с клиентом» удален.
//! ```
//!
//! Two handler versions over one storage: v1 (legacy: last five reports as
//! buttons, "show all" as text) and v2 (the numbered TXT list, then view,
//! rename or delete by number, each confirmed). The host decides which one a
//! user gets; buttons of either version's old messages keep working.
//!
//! # Layout
//! - [`storage`]: VoxPersona's reports directory — the `vox-report-store` crate.
//! - `v1.rs`, `v2.rs` (+ `v2/`): the two handler versions.
//! - [`config`]: the `plugins.my_reports` section.
//! - [`input`]: report numbers and titles as users type them.
//! - [`snapshot`]: the numbers a sent list stands for, for 5 minutes.
//! - [`listing`]: the TXT list and the CSV / JSON exports; [`filter`]: narrowing it.
//! - [`delivery`]: sending a report file within Telegram's limits.
//! - [`metrics`]: every counter; [`ops`]: one log line per user action.
//! - [`texts`], [`format`](mod@format): what users read.

pub mod config;
pub mod delivery;
pub mod filter;
pub mod format;
pub mod input;
pub mod listing;
pub mod metrics;
pub mod ops;
pub mod snapshot;
pub mod texts;
mod v1;
mod v2;

#[cfg(test)]
mod flow_tests;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use vox_plugin::{
    Command, ConfigError, Ctx, HandlerError, Manifest, MenuEntry, Plugin, PluginConfig, Setup, Step,
    StepState, Version,
};

/// The reports directory, from its own crate (`vox-report-store`).
pub use vox_report_store as storage;

pub use config::Config;
pub use metrics::Metrics;
pub use storage::{NewReport, Report, Storage};

/// "📄 Мои отчеты" in the main menu: served by the version the host decides.
pub const SHOW_MY_REPORTS: &str = "show_my_reports";
/// v1: a report's button, followed by its path relative to the reports directory.
pub const SEND_REPORT: &str = "send_report||";
/// v1: the "show all" button.
pub const SHOW_ALL_REPORTS: &str = "show_all_reports";
/// v2: every button of the new flow starts with this.
pub const V2_PREFIX: &str = "report_";

/// How long a v2 step waits for the user's answer.
const STEP_TTL: Duration = Duration::from_secs(300);

/// v2's dialogue steps.
pub mod steps {
    /// Waiting for the number of the report to view.
    pub const VIEW_ASK_NUMBER: &str = "report_view_ask_number";
    /// Waiting for "yes" before sending it.
    pub const VIEW_CONFIRM: &str = "report_view_confirm";
    /// Waiting for the number of the report to rename.
    pub const RENAME_ASK_NUMBER: &str = "report_rename_ask_number";
    /// Waiting for the new title.
    pub const RENAME_ASK_NEW_NAME: &str = "report_rename_ask_new_name";
    /// Waiting for "yes" before renaming.
    pub const RENAME_CONFIRM: &str = "report_rename_confirm";
    /// Waiting for the number of the report to delete.
    pub const DELETE_ASK_NUMBER: &str = "report_delete_ask_number";
    /// Waiting for "yes" before deleting.
    pub const DELETE_CONFIRM: &str = "report_delete_confirm";
    /// Waiting for filter words and dates.
    pub const FILTER_ASK: &str = "report_filter_ask";
}

/// The plugin's declaration.
pub const MANIFEST: Manifest = Manifest {
    commands: &[Command::new("reports", "Мои отчеты")],
    callback_prefixes: &[SHOW_MY_REPORTS],
    versions: &[
        Version::new("v1").callbacks(&[SEND_REPORT, SHOW_ALL_REPORTS]),
        Version::new("v2").callbacks(&[V2_PREFIX]).steps(&[
            Step::new(steps::VIEW_ASK_NUMBER).ttl(STEP_TTL),
            Step::new(steps::VIEW_CONFIRM).ttl(STEP_TTL),
            Step::new(steps::RENAME_ASK_NUMBER).ttl(STEP_TTL),
            Step::new(steps::RENAME_ASK_NEW_NAME).ttl(STEP_TTL),
            Step::new(steps::RENAME_CONFIRM).ttl(STEP_TTL),
            Step::new(steps::DELETE_ASK_NUMBER).ttl(STEP_TTL),
            Step::new(steps::DELETE_CONFIRM).ttl(STEP_TTL),
            Step::new(steps::FILTER_ASK).ttl(STEP_TTL),
        ]),
    ],
    entry: Some("reports"),
    menu_entry: Some(MenuEntry::new("📄 Мои отчеты", SHOW_MY_REPORTS)),
    ..Manifest::new("my_reports", "Мои отчеты")
};

/// The plugin: its config, the storage both versions share, list snapshots,
/// counters. Config and storage sit behind locks only a config reload writes,
/// so every key can change without a restart.
pub struct MyReports {
    config: RwLock<Arc<Config>>,
    storage: RwLock<Storage>,
    snapshots: snapshot::Snapshots,
    metrics: Arc<Metrics>,
}

impl MyReports {
    /// Opens the reports directory (creating it if missing; a relative path is
    /// inside the host's data directory) and checks the config. Called only by
    /// the serving process: the operator's commands use [`PluginConfig::validate`].
    pub fn new(config: Config, setup: &Setup) -> Result<Self, ConfigError> {
        config.validate()?;
        let storage = open_storage(&config, setup)?;
        let snapshots = snapshot::Snapshots::new(Duration::from_secs(config.snapshot_ttl_secs));
        Ok(Self {
            config: RwLock::new(Arc::new(config)),
            storage: RwLock::new(storage),
            snapshots,
            metrics: Arc::new(Metrics::default()),
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

    fn lock_wait(&self) -> Duration {
        Duration::from_millis(self.config().lock_wait_ms)
    }
}

fn open_storage(config: &Config, setup: &Setup) -> Result<Storage, ConfigError> {
    let dir = setup.resolve(&config.reports_dir);
    Storage::open(&dir)
        .map_err(|e| ConfigError::new("reports_dir", format!("cannot open `{}`: {e}", dir.display())))
}

#[vox_plugin::async_trait]
impl Plugin for MyReports {
    async fn handle(&self, ctx: &mut Ctx) -> Result<(), HandlerError> {
        match ctx.version() {
            Some("v2") => v2::handle(self, ctx).await,
            _ => v1::handle(self, ctx).await,
        }
    }

    async fn on_expired(&self, ctx: &mut Ctx, expired: StepState) -> Result<(), HandlerError> {
        match expired.version {
            Some("v2") => v2::on_expired(self, ctx, expired).await,
            _ => Ok(()),
        }
    }

    fn metrics(&self) -> Vec<vox_plugin::metrics::Sample> {
        self.metrics.samples()
    }
}

vox_plugin::register!(MANIFEST, MyReports::new, reconfigure = MyReports::reconfigure);
