//! # One update
//!
//! Everything one update needs and nothing else: it spawns no task and owns no
//! background work (those are the composition root's, `app.rs`).
//!
//! - [`incoming`]: an update taken apart (chat, user, input).
//! - [`router`]: which plugin serves an input.
//! - [`update`]: one update's way through the host: state, route, version,
//!   handler with panics caught, the callback answered once, one log line.
//! - [`texts`]: what the host itself says to users.

pub mod incoming;
pub mod received;
pub mod router;
pub mod texts;
pub mod update;

use std::sync::Arc;

use vox_plugin::host::HostApi;

use crate::metrics::Metrics;
use crate::registry::load::LoadedPlugin;
use crate::registry::{PluginIdx, Registry};
use crate::rollout::live::{Live, LiveConfig};
use crate::rollout::served::Served;
use crate::services::Services;

/// What one update needs, shared by all of them; built by the composition root.
pub struct Dispatch {
    /// What handlers call (Telegram, tracker, locks, state, canary windows, reachability).
    pub services: Arc<Services>,
    /// The same services as the SDK sees them.
    pub api: Arc<dyn HostApi>,
    /// Validated routes.
    pub registry: Arc<Registry>,
    /// The built plugins, in registry order.
    pub plugins: Arc<[LoadedPlugin]>,
    /// Read on every update; only the live config's writer stores into it.
    pub live: Live,
    /// Updates and users per version.
    pub served: Arc<Served>,
}

impl Dispatch {
    /// The live config now (cheap; no allocation).
    pub fn live(&self) -> arc_swap::Guard<Arc<LiveConfig>> {
        self.live.load()
    }

    /// Plugin `idx`, built.
    pub fn plugin(&self, idx: PluginIdx) -> &LoadedPlugin {
        &self.plugins[idx.position()]
    }

    /// The families the update path feeds.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.services.metrics
    }

    /// Seconds on the host's clock since start, for the canary windows.
    pub fn now_secs(&self) -> u64 {
        self.services.clock.now().saturating_duration_since(self.services.epoch).as_secs()
    }
}
