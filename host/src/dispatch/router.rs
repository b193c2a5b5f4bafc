//! Routing: which plugin (and which pinned version, if any) serves an input,
//! given the registry and the chat's open dialogue. Pure and allocation-free.

use vox_plugin::Input;

use crate::registry::{PluginIdx, Registry};
use crate::services::state::DialogueState;

/// Where an update goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// To a plugin. `pinned` is the version the input itself belongs to, if
    /// any; `None` leaves the choice to the host's version decision.
    Plugin {
        /// The plugin.
        plugin: PluginIdx,
        /// The version the input belongs to.
        pinned: Option<Pin>,
    },
    /// To the host itself.
    Host(HostRoute),
}

/// The inputs the host answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostRoute {
    /// `/cancel`: the host ends the dialogue.
    Cancel,
    /// A button no plugin owns (an old message).
    Outdated,
    /// A command nobody declared.
    UnknownCommand,
    /// Text with no open dialogue.
    Unrouted,
}

/// Why an input belongs to a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    /// A button whose prefix that version owns (an old message keeps its buttons).
    Button(&'static str),
    /// Text for the open dialogue that version started.
    Dialogue(&'static str),
}

/// Routes one input. Callback data goes to the owner of the longest matching
/// prefix; a command to its owner; text to the owner of the open dialogue.
#[inline]
pub fn route(registry: &Registry, input: &Input, state: Option<&DialogueState>) -> Route {
    match input {
        Input::Callback { data, .. } => match registry.callback(data) {
            Some(r) => Route::Plugin { plugin: r.plugin, pinned: r.version.map(Pin::Button) },
            None => Route::Host(HostRoute::Outdated),
        },
        Input::Command { name, .. } if name == "cancel" => Route::Host(HostRoute::Cancel),
        Input::Command { name, .. } => match registry.command(name) {
            Some(plugin) => Route::Plugin { plugin, pinned: None },
            None => Route::Host(HostRoute::UnknownCommand),
        },
        Input::Text(_) | Input::Unsupported => {
            match state.and_then(|s| registry.step(s.step).map(|r| (r, s))) {
                Some((step, s)) => {
                    Route::Plugin { plugin: step.plugin, pinned: s.version.map(Pin::Dialogue) }
                }
                None => Route::Host(HostRoute::Unrouted),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vox_plugin::{Command, Manifest, Step, Version};

    const MENU: Manifest = Manifest {
        commands: &[Command::new("start", "Меню")],
        callback_prefixes: &["menu_"],
        ..Manifest::new("main_menu", "Main menu")
    };
    const REPORTS: Manifest = Manifest {
        callback_prefixes: &["show_my_reports"],
        versions: &[Version::new("v2").callbacks(&["report_"]).steps(&[Step::new("ask")])],
        ..Manifest::new("my_reports", "Мои отчеты")
    };

    fn registry() -> Registry {
        Registry::build([&MENU, &REPORTS]).expect("valid")
    }

    fn callback(data: &str) -> Input {
        Input::Callback { query_id: "q".into(), data: data.into(), message_id: Some(1) }
    }

    fn command(name: &str) -> Input {
        Input::Command { name: name.into(), args: String::new() }
    }

    #[test]
    fn callbacks_commands_and_text_reach_their_owners() {
        let r = registry();
        let menu = r.index_of("main_menu").expect("menu");
        let reports = r.index_of("my_reports").expect("reports");
        assert_eq!(route(&r, &callback("menu_main"), None), Route::Plugin { plugin: menu, pinned: None });
        assert_eq!(
            route(&r, &callback("report_view"), None),
            Route::Plugin { plugin: reports, pinned: Some(Pin::Button("v2")) }
        );
        assert_eq!(route(&r, &callback("gone"), None), Route::Host(HostRoute::Outdated));
        assert_eq!(route(&r, &command("start"), None), Route::Plugin { plugin: menu, pinned: None });
        assert_eq!(route(&r, &command("cancel"), None), Route::Host(HostRoute::Cancel));
        assert_eq!(route(&r, &command("nope"), None), Route::Host(HostRoute::UnknownCommand));
        assert_eq!(route(&r, &Input::Text("3".into()), None), Route::Host(HostRoute::Unrouted));
        let state = DialogueState {
            plugin: "my_reports",
            version: Some("v2"),
            step: "ask",
            data: serde_json::Value::Null,
            deadline: None,
        };
        assert_eq!(
            route(&r, &Input::Text("3".into()), Some(&state)),
            Route::Plugin { plugin: reports, pinned: Some(Pin::Dialogue("v2")) }
        );
        assert_eq!(
            route(&r, &Input::Unsupported, Some(&state)),
            Route::Plugin { plugin: reports, pinned: Some(Pin::Dialogue("v2")) }
        );
        assert_eq!(route(&r, &command("start"), Some(&state)), Route::Plugin { plugin: menu, pinned: None });
    }
}
