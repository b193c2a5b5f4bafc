//! What a plugin declares: plain `const` data the host reads and validates as a
//! whole before any handler runs.

use std::time::Duration;

/// A plugin's declaration: its identity and everything it claims to own.
///
/// Callback prefixes and steps listed at the top level are version-free: an update
/// routed through them is served by the version the host decides for the user.
/// Those listed under a [`Version`] belong to that version alone, so buttons of old
/// messages and open dialogues stay with the version that created them.
///
/// ```
/// use std::time::Duration;
/// use vox_plugin::{Command, Manifest, Step, Version};
///
/// const MANIFEST: Manifest = Manifest {
///     commands: &[Command::new("reports", "Мои отчеты")],
///     callback_prefixes: &["show_my_reports"],
///     versions: &[
///         Version::new("v1").callbacks(&["send_report||", "show_all_reports"]),
///         Version::new("v2")
///             .callbacks(&["report_"])
///             .steps(&[Step::new("report_view_ask_number").ttl(Duration::from_secs(300))]),
///     ],
///     ..Manifest::new("my_reports", "Мои отчеты")
/// };
/// assert_eq!(MANIFEST.versions[1].steps[0].ttl, Some(Duration::from_secs(300)));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Manifest {
    /// Unique id, also the name of the plugin's config section `[plugins.<id>]`.
    pub id: &'static str,
    /// Human name for tables and logs.
    pub name: &'static str,
    /// Slash commands (without the `/`), version-free.
    pub commands: &'static [Command],
    /// Callback-data prefixes, version-free; the longest matching prefix wins.
    pub callback_prefixes: &'static [&'static str],
    /// Dialogue steps, version-free.
    pub steps: &'static [Step],
    /// Handler versions and what each owns. Empty for an unversioned plugin.
    pub versions: &'static [Version],
    /// One of `commands` that opens the plugin's main screen. When a user's old
    /// button or open dialogue belongs to a version that was switched off, the
    /// host says the menu changed and runs this command under the current version.
    pub entry: Option<&'static str>,
    /// The plugin's button in the main menu: the home plugin renders every
    /// plugin's entry from [`crate::Ctx::menu_entries`], so neither knows the
    /// other's strings. Its callback must be one of this plugin's own
    /// version-free prefixes (the registry checks).
    pub menu_entry: Option<MenuEntry>,
    /// Callback data that opens the home screen (the main menu), when this plugin
    /// is home; [`crate::Button::home`] of any plugin resolves to it. At most one
    /// linked plugin may declare it, and it must be one of its own prefixes.
    pub home: Option<&'static str>,
}

/// A plugin's button in the main menu.
///
/// ```
/// const ENTRY: vox_plugin::MenuEntry = vox_plugin::MenuEntry::new("📄 Мои отчеты", "show_my_reports")
///     .help("Список ваших отчетов: посмотреть, переименовать, удалить.");
/// assert_eq!(ENTRY.callback, "show_my_reports");
/// assert!(ENTRY.help.is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MenuEntry {
    /// The button's text.
    pub label: &'static str,
    /// The callback data it sends (one of the plugin's prefixes).
    pub callback: &'static str,
    /// What the section does and how, in the users' language: the bot's
    /// `/help` shows it under the label.
    pub help: Option<&'static str>,
}

impl MenuEntry {
    /// An entry.
    pub const fn new(label: &'static str, callback: &'static str) -> Self {
        Self { label, callback, help: None }
    }

    /// The same entry with its `/help` text.
    pub const fn help(mut self, text: &'static str) -> Self {
        self.help = Some(text);
        self
    }
}

impl Manifest {
    /// A manifest that owns nothing yet; fill the rest with struct update syntax.
    pub const fn new(id: &'static str, name: &'static str) -> Self {
        Self {
            id,
            name,
            commands: &[],
            callback_prefixes: &[],
            steps: &[],
            versions: &[],
            entry: None,
            menu_entry: None,
            home: None,
        }
    }

    /// The version with this name, if declared.
    pub fn version(&self, name: &str) -> Option<&'static Version> {
        self.versions.iter().find(|v| v.name == name)
    }

    /// Every step with the version that owns it (`None` for version-free steps).
    pub fn all_steps(&self) -> impl Iterator<Item = (Option<&'static str>, &'static Step)> {
        let free = self.steps.iter().map(|s| (None, s));
        let owned = self.versions.iter().flat_map(|v| v.steps.iter().map(move |s| (Some(v.name), s)));
        free.chain(owned)
    }

    /// Every callback prefix with the version that owns it (`None` for version-free ones).
    pub fn all_prefixes(&self) -> impl Iterator<Item = (Option<&'static str>, &'static str)> {
        let free = self.callback_prefixes.iter().map(|p| (None, *p));
        let owned =
            self.versions.iter().flat_map(|v| v.callback_prefixes.iter().map(move |p| (Some(v.name), *p)));
        free.chain(owned)
    }
}

/// A slash command: `/name` with a description for Telegram's command menu.
///
/// ```
/// const START: vox_plugin::Command = vox_plugin::Command::new("start", "Главное меню");
/// assert_eq!(START.name, "start");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Command {
    /// The command without the leading `/`.
    pub name: &'static str,
    /// Shown in Telegram's command menu.
    pub description: &'static str,
}

impl Command {
    /// A command.
    pub const fn new(name: &'static str, description: &'static str) -> Self {
        Self { name, description }
    }
}

/// A named dialogue step. With a time-to-live the host drops the state when it
/// runs out and tells the plugin ([`crate::Plugin::on_expired`]).
///
/// ```
/// use std::time::Duration;
/// const ASK: vox_plugin::Step = vox_plugin::Step::new("ask_name").ttl(Duration::from_secs(300));
/// assert_eq!(ASK.ttl, Some(Duration::from_secs(300)));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Unique across all plugins.
    pub name: &'static str,
    /// How long the dialogue may rest in this step.
    pub ttl: Option<Duration>,
}

impl Step {
    /// A step without a time-to-live.
    pub const fn new(name: &'static str) -> Self {
        Self { name, ttl: None }
    }

    /// The same step with a time-to-live.
    pub const fn ttl(self, ttl: Duration) -> Self {
        Self { ttl: Some(ttl), ..self }
    }
}

/// One handler version of a versioned plugin and what it alone owns.
///
/// ```
/// const V1: vox_plugin::Version = vox_plugin::Version::new("v1").callbacks(&["show_all_reports"]);
/// assert_eq!(V1.callback_prefixes, &["show_all_reports"]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Version {
    /// `v1`, `v2`, ...
    pub name: &'static str,
    /// Callback prefixes that only this version's messages carry.
    pub callback_prefixes: &'static [&'static str],
    /// Steps that only this version's dialogues use.
    pub steps: &'static [Step],
    /// Of [`Version::callback_prefixes`], the ones whose buttons stay served
    /// after this version is switched off or killed (see [`Version::kept_when_off`]).
    pub kept_when_off: &'static [&'static str],
}

impl Version {
    /// A version that owns nothing yet.
    pub const fn new(name: &'static str) -> Self {
        Self { name, callback_prefixes: &[], steps: &[], kept_when_off: &[] }
    }

    /// The same version, with these of its callback prefixes served even
    /// after it is switched off or killed — by the version the user gets
    /// instead, whose handler must understand them. Old messages keep their
    /// buttons for ever: this is how a version is retired while its buttons
    /// keep working (a legacy shim in the new version). Other buttons of a
    /// switched-off version answer "Меню обновилось". The host refuses to
    /// start when one is not among the version's own prefixes.
    ///
    /// ```
    /// use vox_plugin::Version;
    /// const V1: Version = Version::new("v1").callbacks(&["send_report||", "v1_menu"]).kept_when_off(&["send_report||"]);
    /// assert_eq!(V1.kept_when_off, ["send_report||"]);
    /// ```
    pub const fn kept_when_off(self, prefixes: &'static [&'static str]) -> Self {
        Self { kept_when_off: prefixes, ..self }
    }

    /// The same version owning these callback prefixes.
    pub const fn callbacks(self, prefixes: &'static [&'static str]) -> Self {
        Self { callback_prefixes: prefixes, ..self }
    }

    /// The same version owning these steps.
    pub const fn steps(self, steps: &'static [Step]) -> Self {
        Self { steps, ..self }
    }
}
