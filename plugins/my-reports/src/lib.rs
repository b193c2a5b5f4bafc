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
//! Two handler versions over one report store: v1 (legacy: last five reports
//! as buttons, "show all" as text) and v2 (the numbered TXT list, then view,
//! rename or delete by number, each confirmed). The host decides which one a
//! user gets; buttons of either version's old messages keep working.
//!
//! # Layout
//! - this file: the manifest, the one `match` on the version, `register!`.
//! - [`plugin`]: [`MyReports`] — state, constructor, live config changes.
//! - `v1.rs`, `v2.rs` (+ `v2/`): the two handler versions.
//! - [`ids`]: every callback string, step name and the v2 button codec.
//! - [`view`]: texts, formatting, the list and its exports, keyboards.
//! - [`telemetry`]: counters for `/metrics` and one log line per action.
//! - [`config`]: the `plugins.my_reports` section.
//! - [`input`]: report numbers and titles as users type them.
//! - [`snapshot`]: the numbers a sent list stands for, for 5 minutes.
//! - [`filter`]: narrowing the list; [`delivery`]: sending a file within Telegram's limits.
//! - [`storage`]: the reports directory — the `vox-report-store` crate.

pub mod config;
pub mod delivery;
pub mod filter;
pub mod ids;
pub mod input;
pub mod plugin;
pub mod snapshot;
pub mod telemetry;
mod v1;
mod v2;
pub mod view;

#[cfg(test)]
mod flow_tests;

use std::time::Duration;

use vox_plugin::{
    Command, Ctx, HandlerError, Manifest, MenuEntry, Plugin, Step, StepState, Version, Versions,
};

pub use config::Config;
pub use ids::{SEND_REPORT, SHOW_ALL_REPORTS, SHOW_MY_REPORTS, V2_PREFIX, steps};
pub use plugin::MyReports;
pub use storage::{NewReport, Report, Storage};
pub use telemetry::metrics::Metrics;
/// The reports directory, from its own crate (`vox-report-store`).
pub use vox_report_store as storage;

/// How long a v2 step waits for the user's answer.
const STEP_TTL: Duration = Duration::from_secs(300);

/// The plugin's declaration.
pub const MANIFEST: Manifest = Manifest {
    commands: &[Command::new("reports", "Мои отчеты")],
    callback_prefixes: &[SHOW_MY_REPORTS],
    versions: &[
        // Old messages keep v1's buttons for ever: once v1 is off, v2 serves them (its legacy shim).
        Version::new("v1")
            .callbacks(&[SEND_REPORT, SHOW_ALL_REPORTS])
            .kept_when_off(&[SEND_REPORT, SHOW_ALL_REPORTS]),
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
    menu_entry: Some(MenuEntry::new("📄 Мои отчеты", SHOW_MY_REPORTS).help(view::texts::HELP)),
    ..Manifest::new("my_reports", "Мои отчеты")
};

/// The handler versions, as the code knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ver {
    /// Legacy: the last five reports as buttons.
    V1,
    /// The numbered list with view, rename and delete by number.
    V2,
}

impl Versions for Ver {
    const ALL: &'static [(&'static str, Self)] = &[("v1", Ver::V1), ("v2", Ver::V2)];
}

#[vox_plugin::async_trait]
impl Plugin for MyReports {
    async fn handle(&self, ctx: &mut Ctx) -> Result<(), HandlerError> {
        // The host only routes declared versions here, and the start refuses a
        // declared one missing from `Ver`: `None` cannot happen for this plugin.
        match ctx.version_as::<Ver>() {
            Some(Ver::V2) => v2::handle(self, ctx).await,
            Some(Ver::V1) | None => v1::handle(self, ctx).await,
        }
    }

    async fn on_expired(&self, ctx: &mut Ctx, expired: StepState) -> Result<(), HandlerError> {
        match expired.version.and_then(Ver::named) {
            Some(Ver::V2) => v2::on_expired(self, ctx, expired).await,
            Some(Ver::V1) | None => Ok(()),
        }
    }

    async fn on_cancelled(&self, ctx: &mut Ctx, cancelled: StepState) -> Result<(), HandlerError> {
        match cancelled.version.and_then(Ver::named) {
            Some(Ver::V2) => v2::on_cancelled(self, ctx, cancelled).await,
            Some(Ver::V1) | None => Ok(()),
        }
    }

    fn metrics(&self) -> Vec<vox_plugin::metrics::Sample> {
        use vox_plugin::metrics::Sample;
        let mut samples = self.metrics.samples();
        let store = self.storage().stats();
        samples.push(Sample::counter(
            "recovered_operations",
            "Interrupted report operations completed from the journal",
            store.recovered_operations,
        ));
        samples.push(Sample::counter(
            "journals_set_aside",
            "Interrupted report operations that could not be completed; their journal was set aside",
            store.journals_set_aside,
        ));
        samples
    }
}

vox_plugin::register!(MANIFEST, MyReports::new, versions = Ver, reconfigure = MyReports::reconfigure);
