//! The [`Plugin`] trait and the registration record the host collects at start.

use crate::{ConfigError, Ctx, HandlerError, Manifest, Setup, StepState};

/// A plugin's behaviour. The host calls [`Plugin::handle`] for every update routed
/// to the plugin, with [`Ctx::version`] already decided.
///
/// A versioned plugin keeps one function per version and matches once:
///
/// ```
/// use vox_plugin::{Ctx, HandlerError, Plugin};
///
/// struct Reports;
///
/// #[vox_plugin::async_trait]
/// impl Plugin for Reports {
///     async fn handle(&self, ctx: &mut Ctx) -> Result<(), HandlerError> {
///         match ctx.version() {
///             Some("v2") => Ok(()), // v2::handle(self, ctx).await
///             _ => Ok(()),          // v1::handle(self, ctx).await
///         }
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Plugin: std::any::Any + Send + Sync + 'static {
    /// Serves one update. An `Err` (or a panic) is logged by the host with the
    /// chat, plugin, version and step, and the user gets a short apology.
    async fn handle(&self, ctx: &mut Ctx) -> Result<(), HandlerError>;

    /// Told when the host dropped this plugin's dialogue state because its step's
    /// time-to-live ran out. `ctx` carries the update that found it expired; when
    /// that update was text meant for the step, the host routes it no further, so
    /// this is the place to tell the user what happened. A callback query
    /// answered here ([`Ctx::answer`]) is answered once: the host then takes the
    /// expiry as the reply to that press and routes the update no further.
    async fn on_expired(&self, ctx: &mut Ctx, expired: StepState) -> Result<(), HandlerError> {
        let _ = (ctx, expired);
        Ok(())
    }

    /// Told when the user ended this plugin's dialogue with `/cancel`: the host
    /// has dropped the state and tells the user itself, so reply only if there
    /// is more to say. The place to count the cancellation or to remember it
    /// (a later press of the dialogue's button can then say "already
    /// cancelled"). `ctx` carries the `/cancel` command.
    async fn on_cancelled(&self, ctx: &mut Ctx, cancelled: StepState) -> Result<(), HandlerError> {
        let _ = (ctx, cancelled);
        Ok(())
    }

    /// The plugin's own counters and gauges, read on every scrape of the host's
    /// `/metrics` (so keep them in atomics: this is called off the update path,
    /// but often). The host prefixes each name with the plugin id.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use vox_plugin::metrics::Sample;
    /// use vox_plugin::{Ctx, HandlerError, Plugin};
    ///
    /// #[derive(Default)]
    /// struct Counting { served: AtomicU64 }
    ///
    /// #[vox_plugin::async_trait]
    /// impl Plugin for Counting {
    ///     async fn handle(&self, _: &mut Ctx) -> Result<(), HandlerError> {
    ///         self.served.fetch_add(1, Ordering::Relaxed);
    ///         Ok(())
    ///     }
    ///
    ///     fn metrics(&self) -> Vec<Sample> {
    ///         vec![Sample::counter("served", "Updates served", self.served.load(Ordering::Relaxed))]
    ///     }
    /// }
    /// # assert_eq!(Counting::default().metrics()[0].value, 0);
    /// ```
    fn metrics(&self) -> Vec<crate::metrics::Sample> {
        Vec::new()
    }
}

/// What [`crate::register!`] submits: the manifest, a side-effect-free check of
/// the plugin's config section, its constructor and, when the plugin takes
/// config changes live, how to hand it one. Read by the host; plugins never
/// build one by hand.
pub struct Registration {
    /// The plugin's declaration.
    pub manifest: &'static Manifest,
    /// Checks a `[plugins.<id>]` section (host keys removed) without building
    /// anything: the operator's commands and config reload call only this.
    pub validate: ValidateFn,
    /// Builds the plugin from its section (host keys removed): called once, by
    /// the process that serves.
    pub build: BuildFn,
    /// Hands a running plugin a changed, valid section; `None` when every
    /// change of the section needs a restart.
    pub reconfigure: Option<ReconfigureFn>,
    /// Whether the plugin's code handles a version (its [`Versions`] type);
    /// the host refuses to start when a version the manifest declares is not.
    pub handles_version: Option<fn(&str) -> bool>,
    /// Where a section keeps the plugin's data ([`PluginConfig::data_paths`]):
    /// what a backup must hold besides the host's data directory.
    pub data_paths: DataPathsFn,
}

/// The handler versions a plugin's code serves, as an enum: one `match` on it
/// is exhaustive, so a version added to the enum and not handled does not
/// compile, and a version declared in the manifest but missing from
/// [`Versions::ALL`] stops the host's start naming it.
///
/// ```
/// #[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// enum Ver { V1, V2 }
///
/// impl vox_plugin::Versions for Ver {
///     const ALL: &'static [(&'static str, Self)] = &[("v1", Ver::V1), ("v2", Ver::V2)];
/// }
///
/// use vox_plugin::Versions;
/// assert_eq!(Ver::named("v2"), Some(Ver::V2));
/// assert_eq!(Ver::named("v3"), None);
/// ```
pub trait Versions: Copy + 'static {
    /// Every version the code handles, by its manifest name.
    const ALL: &'static [(&'static str, Self)];

    /// The version named `name`, if the code handles it.
    fn named(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

/// A plugin constructor as the host calls it: section (host keys removed), setup.
pub type BuildFn = fn(&serde_json::Value, &Setup) -> Result<Box<dyn Plugin>, ConfigError>;

/// A config check as the host calls it: section (host keys removed), setup.
pub type ValidateFn = fn(&serde_json::Value, &Setup) -> Result<(), ConfigError>;

/// A plugin's data paths as the host asks for them: section (host keys removed), setup.
pub type DataPathsFn = fn(&serde_json::Value, &Setup) -> Result<Vec<std::path::PathBuf>, ConfigError>;

/// A live config change as the host calls it: the running plugin, its new
/// section (host keys removed, already validated), setup.
pub type ReconfigureFn = fn(&dyn Plugin, &serde_json::Value, &Setup) -> Result<(), ConfigError>;

/// A plugin's typed config section (`[plugins.<id>]` without the host's keys).
///
/// [`PluginConfig::validate`] checks what serde alone cannot. It must have no
/// side effects — no files opened, created or locked —, because the operator's
/// commands (`check-config`, `rollout explain`, `rollout status`, the rollout
/// edits) and config reload call it beside a running host.
///
/// ```
/// use vox_plugin::{ConfigError, PluginConfig};
///
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Config { greeting: String }
///
/// impl PluginConfig for Config {
///     fn validate(&self) -> Result<(), ConfigError> {
///         if self.greeting.is_empty() {
///             return Err(ConfigError::new("greeting", "must not be empty"));
///         }
///         Ok(())
///     }
/// }
/// # assert!(Config { greeting: String::new() }.validate().is_err());
/// ```
pub trait PluginConfig: serde::de::DeserializeOwned + Send + 'static {
    /// Checks the values; the error names the key relative to the section.
    fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }

    /// The directories and files this section keeps the plugin's data in,
    /// absolute (resolve relative ones with [`Setup::resolve`]): what the
    /// release scripts back up besides the host's data directory
    /// (`vox-host backup-paths`). Empty when the plugin keeps nothing on disk
    /// (dialogue state and values are the host's). Like `validate`, no side
    /// effects.
    fn data_paths(&self, setup: &Setup) -> Vec<std::path::PathBuf> {
        let _ = setup;
        Vec::new()
    }
}

impl PluginConfig for NoConfig {}

inventory::collect!(Registration);

/// Every plugin linked into this binary, in link order.
///
/// ```
/// for r in vox_plugin::host::registrations() {
///     println!("{}: {}", r.manifest.id, r.manifest.name);
/// }
/// ```
pub fn registrations() -> impl Iterator<Item = &'static Registration> {
    inventory::iter::<Registration>.into_iter()
}

/// The config type of a plugin that has nothing to configure: its section must be
/// empty (or absent), so a typo is an error rather than silently ignored.
///
/// ```
/// let none: vox_plugin::NoConfig = serde_json::from_str("{}").unwrap();
/// # let _ = none;
/// assert!(serde_json::from_str::<vox_plugin::NoConfig>(r#"{"x": 1}"#).is_err());
/// ```
#[derive(Debug, Default, Clone, Copy, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoConfig {}
