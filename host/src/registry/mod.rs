//! # The plugin registry
//!
//! Every linked plugin's manifest, validated as a whole at start, and the
//! lookup tables routing uses (commands, callback prefixes, steps);
//! [`load`]: the plugins' config sections checked (no side effects) and the
//! plugins built from them.

pub mod load;

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use vox_plugin::Manifest;

/// Telegram's limit on callback data, in bytes.
pub const CALLBACK_DATA_MAX: usize = 64;

/// Commands the host answers itself.
pub const RESERVED_COMMANDS: &[&str] = &["cancel"];

/// A plugin's position in the registry (id order): the one index all of the
/// host's per-plugin tables share (built plugins, live settings, served counts,
/// canary windows). Only the registry hands them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PluginIdx(usize);

impl PluginIdx {
    /// The position, for indexing a table kept in registry order.
    pub fn position(self) -> usize {
        self.0
    }

    /// Any position, for unit tests of the per-plugin tables.
    #[cfg(test)]
    pub(crate) fn at(position: usize) -> Self {
        PluginIdx(position)
    }
}

/// Where a callback prefix leads.
#[derive(Debug, Clone, Copy)]
pub struct PrefixRoute {
    /// The declared prefix.
    pub prefix: &'static str,
    /// The owning plugin.
    pub plugin: PluginIdx,
    /// The version that owns it; `None` when the host decides.
    pub version: Option<&'static str>,
}

/// Where a dialogue step belongs.
#[derive(Debug, Clone, Copy)]
pub struct StepRoute {
    /// The declared step name.
    pub name: &'static str,
    /// The owning plugin.
    pub plugin: PluginIdx,
    /// The version that owns it, if any.
    pub version: Option<&'static str>,
    /// How long a dialogue may rest in it.
    pub ttl: Option<Duration>,
}

/// The validated registry. Plugins are indexed in id order.
#[derive(Debug)]
pub struct Registry {
    manifests: Vec<&'static Manifest>,
    /// The home plugin's callback data ([`Manifest::home`]), if one is linked.
    home: Option<&'static str>,
    commands: HashMap<&'static str, PluginIdx>,
    /// Longest first, so the first match is the longest match.
    prefixes: Vec<PrefixRoute>,
    steps: HashMap<&'static str, StepRoute>,
}

/// One conflict or mistake in the declared manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryError {
    /// Two plugins share an id.
    DuplicateId { id: &'static str, first: &'static str, second: &'static str },
    /// An id unusable as a config key.
    BadId { id: &'static str },
    /// A version declared twice by one plugin.
    DuplicateVersion { plugin: &'static str, version: &'static str },
    /// Two plugins' callback prefixes where one equals or starts the other.
    PrefixOverlap { prefix: &'static str, owner: Owner, other_prefix: &'static str, other_owner: Owner },
    /// One plugin declares the same prefix twice.
    DuplicatePrefix { prefix: &'static str, owner: Owner, other_owner: Owner },
    /// An empty prefix would match every button.
    EmptyPrefix { owner: Owner },
    /// A prefix longer than callback data can be.
    PrefixTooLong { prefix: &'static str, owner: Owner },
    /// A step name declared twice.
    DuplicateStep { step: &'static str, owner: Owner, other_owner: Owner },
    /// A command declared twice.
    DuplicateCommand { command: &'static str, owner: &'static str, other_owner: &'static str },
    /// A plugin claims a command the host answers itself.
    ReservedCommand { command: &'static str, owner: &'static str },
    /// The entry is not one of the plugin's commands.
    BadEntry { entry: &'static str, owner: &'static str },
    /// A menu entry's or home's callback data that the plugin does not own (version-free).
    ForeignCallback { what: &'static str, data: &'static str, owner: &'static str },
    /// Two plugins declare `home`.
    TwoHomes { first: &'static str, second: &'static str },
    /// A prefix kept when its version is off that the version does not own.
    ForeignKept { prefix: &'static str, owner: Owner },
}

/// A plugin, and the version when the thing is version-owned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// Plugin id.
    pub plugin: &'static str,
    /// Owning version, if any.
    pub version: Option<&'static str>,
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Some(v) => write!(f, "plugin `{}` ({v})", self.plugin),
            None => write!(f, "plugin `{}`", self.plugin),
        }
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RegistryError::*;
        match self {
            DuplicateId { id, first, second } => {
                write!(f, "plugin id `{id}` is registered twice: by \"{first}\" and by \"{second}\"")
            }
            BadId { id } => write!(f, "plugin id `{id}` must be lowercase ASCII letters, digits and `_`"),
            DuplicateVersion { plugin, version } => {
                write!(f, "plugin `{plugin}` declares version `{version}` twice")
            }
            PrefixOverlap { prefix, owner, other_prefix, other_owner } => write!(
                f,
                "callback prefix `{prefix}` of {owner} overlaps callback prefix `{other_prefix}` of \
                 {other_owner}: a button's data could match both"
            ),
            DuplicatePrefix { prefix, owner, other_owner } => {
                write!(f, "callback prefix `{prefix}` is declared by {owner} and by {other_owner}")
            }
            EmptyPrefix { owner } => {
                write!(f, "{owner} declares an empty callback prefix, which would match every button")
            }
            PrefixTooLong { prefix, owner } => write!(
                f,
                "callback prefix `{prefix}` of {owner} is {} bytes; Telegram's callback data holds at most \
                 {CALLBACK_DATA_MAX}",
                prefix.len()
            ),
            DuplicateStep { step, owner, other_owner } => {
                write!(f, "step `{step}` is declared by {owner} and by {other_owner}")
            }
            DuplicateCommand { command, owner, other_owner } => {
                write!(
                    f,
                    "command `/{command}` is declared by plugin `{owner}` and by plugin `{other_owner}`"
                )
            }
            ReservedCommand { command, owner } => {
                write!(f, "command `/{command}` of plugin `{owner}` is reserved by the host")
            }
            BadEntry { entry, owner } => {
                write!(f, "entry `/{entry}` of plugin `{owner}` is not one of its commands")
            }
            ForeignCallback { what, data, owner } => write!(
                f,
                "{what} `{data}` of plugin `{owner}` is not routed to it: it must start with one of its \
                 own version-free callback prefixes"
            ),
            TwoHomes { first, second } => {
                write!(f, "plugins `{first}` and `{second}` both declare `home`; one plugin is the main menu")
            }
            ForeignKept { prefix, owner } => write!(
                f,
                "{owner} keeps callback prefix `{prefix}` served when switched off, but does not own it: \
                 list it in the version's `callbacks` too"
            ),
        }
    }
}

impl Registry {
    /// Validates the manifests as a whole; returns every problem found, not just the first.
    pub fn build(manifests: impl IntoIterator<Item = &'static Manifest>) -> Result<Self, Vec<RegistryError>> {
        let mut manifests: Vec<&'static Manifest> = manifests.into_iter().collect();
        manifests.sort_by(|a, b| a.id.cmp(b.id));
        let mut errors = Vec::new();

        for pair in manifests.windows(2) {
            if pair[0].id == pair[1].id {
                errors.push(RegistryError::DuplicateId {
                    id: pair[0].id,
                    first: pair[0].name,
                    second: pair[1].name,
                });
            }
        }
        for m in &manifests {
            if m.id.is_empty()
                || !m.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                errors.push(RegistryError::BadId { id: m.id });
            }
            if let Some(entry) = m.entry.filter(|e| !m.commands.iter().any(|c| c.name == *e)) {
                errors.push(RegistryError::BadEntry { entry, owner: m.id });
            }
            for (i, v) in m.versions.iter().enumerate() {
                if m.versions[..i].iter().any(|w| w.name == v.name) {
                    errors.push(RegistryError::DuplicateVersion { plugin: m.id, version: v.name });
                }
                for prefix in v.kept_when_off.iter().filter(|k| !v.callback_prefixes.contains(k)) {
                    let owner = Owner { plugin: m.id, version: Some(v.name) };
                    errors.push(RegistryError::ForeignKept { prefix, owner });
                }
            }
        }

        let mut commands: HashMap<&'static str, PluginIdx> = HashMap::new();
        for (idx, m) in manifests.iter().enumerate() {
            for c in m.commands {
                if RESERVED_COMMANDS.contains(&c.name) {
                    errors.push(RegistryError::ReservedCommand { command: c.name, owner: m.id });
                } else if let Some(&other) = commands.get(c.name) {
                    errors.push(RegistryError::DuplicateCommand {
                        command: c.name,
                        owner: manifests[other.0].id,
                        other_owner: m.id,
                    });
                } else {
                    commands.insert(c.name, PluginIdx(idx));
                }
            }
        }

        let mut steps: HashMap<&'static str, StepRoute> = HashMap::new();
        for (idx, m) in manifests.iter().enumerate() {
            for (version, step) in m.all_steps() {
                let route = StepRoute { name: step.name, plugin: PluginIdx(idx), version, ttl: step.ttl };
                if let Some(other) = steps.get(step.name) {
                    errors.push(RegistryError::DuplicateStep {
                        step: step.name,
                        owner: Owner { plugin: manifests[other.plugin.0].id, version: other.version },
                        other_owner: Owner { plugin: m.id, version },
                    });
                } else {
                    steps.insert(step.name, route);
                }
            }
        }

        let mut prefixes: Vec<PrefixRoute> = Vec::new();
        for (idx, m) in manifests.iter().enumerate() {
            for (version, prefix) in m.all_prefixes() {
                let owner = Owner { plugin: m.id, version };
                if prefix.is_empty() {
                    errors.push(RegistryError::EmptyPrefix { owner });
                    continue;
                }
                if prefix.len() > CALLBACK_DATA_MAX {
                    errors.push(RegistryError::PrefixTooLong { prefix, owner });
                }
                for other in &prefixes {
                    let other_owner = Owner { plugin: manifests[other.plugin.0].id, version: other.version };
                    if other.plugin == PluginIdx(idx) {
                        // Within one plugin nesting is fine (the longest wins); only a repeat is ambiguous.
                        if other.prefix == prefix {
                            errors.push(RegistryError::DuplicatePrefix {
                                prefix,
                                owner: other_owner,
                                other_owner: owner,
                            });
                        }
                    } else if prefix.starts_with(other.prefix) || other.prefix.starts_with(prefix) {
                        errors.push(RegistryError::PrefixOverlap {
                            prefix: other.prefix,
                            owner: other_owner,
                            other_prefix: prefix,
                            other_owner: owner,
                        });
                    }
                }
                prefixes.push(PrefixRoute { prefix, plugin: PluginIdx(idx), version });
            }
        }
        prefixes.sort_by(|a, b| b.prefix.len().cmp(&a.prefix.len()).then(a.prefix.cmp(b.prefix)));

        // Menu entries and home must route back to their own plugin, version-free.
        let routed_home = |idx: usize, data: &str| {
            prefixes
                .iter()
                .find(|r| data.starts_with(r.prefix))
                .is_some_and(|r| r.plugin == PluginIdx(idx) && r.version.is_none())
        };
        let mut home: Option<(usize, &'static str)> = None;
        for (idx, m) in manifests.iter().enumerate() {
            if let Some(e) = m.menu_entry.filter(|e| !routed_home(idx, e.callback)) {
                errors.push(RegistryError::ForeignCallback {
                    what: "menu entry",
                    data: e.callback,
                    owner: m.id,
                });
            }
            let Some(data) = m.home else { continue };
            if !routed_home(idx, data) {
                errors.push(RegistryError::ForeignCallback { what: "home", data, owner: m.id });
            }
            match home {
                Some((first, _)) => {
                    errors.push(RegistryError::TwoHomes { first: manifests[first].id, second: m.id })
                }
                None => home = Some((idx, data)),
            }
        }
        let home = home.map(|(_, data)| data);

        if errors.is_empty() { Ok(Self { manifests, home, commands, prefixes, steps }) } else { Err(errors) }
    }

    /// The manifests in id order; a plugin's index is its position here.
    pub fn manifests(&self) -> &[&'static Manifest] {
        &self.manifests
    }

    /// A plugin by id.
    pub fn index_of(&self, id: &str) -> Option<PluginIdx> {
        self.manifests.binary_search_by(|m| m.id.cmp(id)).ok().map(PluginIdx)
    }

    /// The manifest of plugin `idx`.
    pub fn manifest(&self, idx: PluginIdx) -> &'static Manifest {
        self.manifests[idx.0]
    }

    /// Every plugin, in registry order.
    pub fn indices(&self) -> impl Iterator<Item = PluginIdx> + use<> {
        (0..self.manifests.len()).map(PluginIdx)
    }

    /// The plugin owning `/name`.
    #[inline]
    pub fn command(&self, name: &str) -> Option<PluginIdx> {
        self.commands.get(name).copied()
    }

    /// The owner of the longest declared prefix of `data`.
    #[inline]
    pub fn callback(&self, data: &str) -> Option<&PrefixRoute> {
        self.prefixes.iter().find(|r| data.starts_with(r.prefix))
    }

    /// The registry's own names for a stored dialogue's `plugin`, `version` and
    /// `step`: `None` when no linked plugin declares that step (at that version).
    pub fn step_owner(
        &self,
        plugin: &str,
        version: Option<&str>,
        step: &str,
    ) -> Option<(&'static str, Option<&'static str>, &'static str)> {
        let route = self.step(step)?;
        let manifest = self.manifest(route.plugin);
        if manifest.id != plugin {
            return None;
        }
        let version = match version {
            None => None,
            Some(v) => Some(manifest.versions.iter().find(|m| m.name == v)?.name),
        };
        if route.version.is_some() && route.version != version {
            return None;
        }
        Some((manifest.id, version, route.name))
    }

    /// A declared step.
    #[inline]
    pub fn step(&self, name: &str) -> Option<&StepRoute> {
        self.steps.get(name)
    }

    /// The callback data [`vox_plugin::Button::home`] sends, if a home plugin is linked.
    pub fn home(&self) -> Option<&'static str> {
        self.home
    }

    /// Every plugin's main-menu entry, in registry order.
    pub fn menu_entries(&self) -> Vec<vox_plugin::MenuEntry> {
        self.manifests.iter().filter_map(|m| m.menu_entry).collect()
    }
}

#[cfg(test)]
mod tests;
