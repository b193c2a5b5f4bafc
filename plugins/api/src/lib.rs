//! # vox-plugin — the SDK every vox-host plugin is written against
//!
//! A plugin is one crate that depends on this SDK alone. It declares a
//! [`Manifest`] (plain `const` data the host validates before anything runs),
//! implements [`Plugin`] (one async entry point, handed the version the host
//! chose) and registers itself with [`register!`]. Linking the crate into the
//! host binary is what makes it exist.
//!
//! # Layout
//! - [`manifest`]: what a plugin declares — id, commands, callback prefixes,
//!   steps with time-to-live, handler versions.
//! - [`plugin`]: the [`Plugin`] trait, [`PluginConfig`] (the side-effect-free
//!   config check) and [`Versions`] (handler versions as an enum).
//! - [`context`]: [`Ctx`], one update as a handler sees it, with reply,
//!   state and lock helpers.
//! - [`reply`]: keyboards, documents and the message-tracker kinds.
//! - [`host`]: host plumbing an author never needs — [`host::HostApi`] (the
//!   services behind a [`Ctx`]), [`host::CtxParts`], [`host::Registration`],
//!   lock guards.
//! - [`setup`]: [`Setup`], host facts for a plugin's constructor (the data directory).
//! - [`clock`]: the host's clock, which tests can move forward.
//! - [`metrics`]: [`metrics::Sample`], a plugin's own counters on the host's `/metrics`.
//! - [`testing`]: [`testing::RecordingHost`], a fake host for plugin unit tests.
//! - [`error`]: [`HandlerError`], [`HostError`], [`ConfigError`].
//!
//! # A whole plugin
//! ```
//! use vox_plugin::{Ctx, HandlerError, Manifest, MessageKind, NoConfig, Plugin};
//!
//! pub const MANIFEST: Manifest = Manifest {
//!     commands: &[vox_plugin::Command::new("ping", "Проверка связи")],
//!     ..Manifest::new("ping", "Ping")
//! };
//!
//! struct Ping;
//!
//! #[vox_plugin::async_trait]
//! impl Plugin for Ping {
//!     async fn handle(&self, ctx: &mut Ctx) -> Result<(), HandlerError> {
//!         ctx.send_text(MessageKind::Info, "pong", None).await?;
//!         Ok(())
//!     }
//! }
//!
//! fn build(_: NoConfig, _: &vox_plugin::Setup) -> Result<Ping, vox_plugin::ConfigError> {
//!     Ok(Ping)
//! }
//!
//! vox_plugin::register!(MANIFEST, build);
//! # fn main() {
//! #     assert!(vox_plugin::host::registrations().any(|r| r.manifest.id == "ping"));
//! # }
//! ```

#![warn(missing_docs)]

pub mod clock;
pub mod context;
pub mod error;
pub mod host;
pub mod manifest;
pub mod metrics;
pub mod plugin;
pub mod reply;
pub mod ru;
pub mod setup;
pub mod testing;

pub use async_trait::async_trait;
pub use clock::Clock;
pub use context::{Ctx, Input, StepState, User};
pub use error::{ConfigError, HandlerError, HostError};
pub use host::StateKey;
pub use manifest::{Command, Manifest, MenuEntry, Step, Version};
pub use plugin::{NoConfig, Plugin, PluginConfig, Versions};
pub use reply::{Button, ButtonAction, Document, DocumentSource, Keyboard, MessageKind, Outgoing};
pub use setup::Setup;
/// Re-exported so a plugin logs through the host's subscriber without its own dependency.
pub use tracing;

/// Registers a plugin: its `const` [`Manifest`] and a constructor that takes the
/// plugin's typed config section (`[plugins.<id>]`) and the host's [`Setup`].
///
/// The constructor is `fn(C, &Setup) -> Result<P, ConfigError>` where
/// `C:` [`PluginConfig`] (use [`NoConfig`] when there is nothing to configure)
/// and `P: Plugin`. The host deserializes and checks every section at start
/// (and on every config reload), so a bad section is refused with an error that
/// names the key; the constructor runs once, in the process that serves.
///
/// A versioned plugin names its [`Versions`] enum as `versions = …` (the host
/// refuses to start when the manifest declares a version the enum lacks). A
/// plugin that can take a changed section without a restart names a method
/// `fn(&P, C, &Setup) -> Result<(), ConfigError>` as `reconfigure = …`;
/// without it, a changed section is refused on reload with "needs a restart"
/// naming the key. Both are optional, in that order.
///
/// ```
/// # use std::sync::RwLock;
/// # use vox_plugin::{Ctx, HandlerError, Manifest, Plugin, PluginConfig, ConfigError};
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Config { greeting: String }
///
/// impl PluginConfig for Config {}
///
/// struct Hello(RwLock<String>);
///
/// impl Hello {
///     fn new(c: Config, _: &vox_plugin::Setup) -> Result<Hello, ConfigError> {
///         Ok(Hello(RwLock::new(c.greeting)))
///     }
///     fn reconfigure(&self, c: Config, _: &vox_plugin::Setup) -> Result<(), ConfigError> {
///         *self.0.write().unwrap_or_else(|p| p.into_inner()) = c.greeting;
///         Ok(())
///     }
/// }
///
/// #[vox_plugin::async_trait]
/// impl Plugin for Hello {
///     async fn handle(&self, ctx: &mut Ctx) -> Result<(), HandlerError> {
///         let text = self.0.read().unwrap_or_else(|p| p.into_inner()).clone();
///         ctx.send_text(vox_plugin::MessageKind::Info, text, None).await?;
///         Ok(())
///     }
/// }
///
/// const MANIFEST: Manifest = Manifest::new("hello", "Hello");
/// vox_plugin::register!(MANIFEST, Hello::new, reconfigure = Hello::reconfigure);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! register {
    ($manifest:expr, $ctor:expr $(, versions = $versions:ty)? $(, reconfigure = $reconfigure:expr)? $(,)?) => {
        $crate::__private::inventory::submit! {
            $crate::host::Registration {
                manifest: &$manifest,
                validate: |section, _setup| $crate::__private::validate(&$manifest, section, $ctor).map(|_| ()),
                build: |section, setup| $crate::__private::build(&$manifest, section, setup, $ctor),
                reconfigure: $crate::__register_reconfigure!($manifest $(, $reconfigure)?),
                handles_version: $crate::__register_versions!($($versions)?),
                data_paths: |section, setup| {
                    $crate::__private::validate(&$manifest, section, $ctor)
                        .map(|config| $crate::PluginConfig::data_paths(&config, setup))
                },
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __register_reconfigure {
    ($manifest:expr) => {
        None
    };
    ($manifest:expr, $reconfigure:expr) => {
        Some(|plugin, section, setup| {
            $crate::__private::reconfigure(&$manifest, plugin, section, setup, $reconfigure)
        })
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __register_versions {
    () => {
        None
    };
    ($versions:ty) => {
        Some(|name: &str| <$versions as $crate::Versions>::named(name).is_some())
    };
}

#[doc(hidden)]
pub mod __private {
    pub use inventory;

    use crate::{ConfigError, Manifest, Plugin, PluginConfig, Setup};

    /// Deserializes a plugin's section with the failing key's path and checks it.
    /// The constructor is taken only to name the config type.
    pub fn validate<C, P>(
        manifest: &Manifest,
        section: &serde_json::Value,
        _ctor: impl FnOnce(C, &Setup) -> Result<P, ConfigError>,
    ) -> Result<C, ConfigError>
    where
        C: PluginConfig,
        P: Plugin,
    {
        typed(manifest, section)
    }

    /// [`validate`], then the constructor.
    pub fn build<C, P>(
        manifest: &Manifest,
        section: &serde_json::Value,
        setup: &Setup,
        ctor: impl FnOnce(C, &Setup) -> Result<P, ConfigError>,
    ) -> Result<Box<dyn Plugin>, ConfigError>
    where
        C: PluginConfig,
        P: Plugin,
    {
        let config: C = typed(manifest, section)?;
        let plugin = ctor(config, setup).map_err(|e| e.within(manifest.id))?;
        Ok(Box::new(plugin))
    }

    /// [`validate`], then the plugin's own `reconfigure` on the running plugin.
    pub fn reconfigure<C, P>(
        manifest: &Manifest,
        plugin: &dyn Plugin,
        section: &serde_json::Value,
        setup: &Setup,
        apply: impl FnOnce(&P, C, &Setup) -> Result<(), ConfigError>,
    ) -> Result<(), ConfigError>
    where
        C: PluginConfig,
        P: Plugin,
    {
        let config: C = typed(manifest, section)?;
        let any: &dyn std::any::Any = plugin;
        let Some(plugin) = any.downcast_ref::<P>() else {
            return Err(ConfigError::new(
                format!("plugins.{}", manifest.id),
                "the running plugin is not the type that registered this section",
            ));
        };
        apply(plugin, config, setup).map_err(|e| e.within(manifest.id))
    }

    fn typed<C: PluginConfig>(manifest: &Manifest, section: &serde_json::Value) -> Result<C, ConfigError> {
        let config: C = serde_path_to_error::deserialize(section).map_err(|e| {
            let path = e.path().to_string();
            let key = if path == "." {
                format!("plugins.{}", manifest.id)
            } else {
                format!("plugins.{}.{}", manifest.id, path)
            };
            ConfigError::new(key, e.into_inner().to_string())
        })?;
        config.validate().map_err(|e| e.within(manifest.id))?;
        Ok(config)
    }
}
