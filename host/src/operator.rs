//! The operator's commands behind the binary's CLI — check-config and the
//! rollout family — each printing for a person and returning the exit code.

use crate::{Settings, StartError};

/// Prints a refused start; exit code 2.
pub fn refuse(e: &StartError) -> u8 {
    eprintln!("error: {e}");
    2
}

/// `check-config`: the plugin table.
pub fn check_config(settings: &Settings) -> u8 {
    match crate::plugins::load(&crate::plugins::linked(), &settings.plugins, &settings.setup()) {
        Ok(loaded) => {
            print!("{}", crate::check::plugin_table(&loaded));
            if settings.token().is_err() {
                println!("\nnote: no Telegram token is set; `run` needs VOX__TELEGRAM__TOKEN.");
            }
            println!("config OK");
            0
        }
        Err(e) => refuse(&e),
    }
}

/// `rollout explain <user>`.
pub fn explain(settings: &Settings, user: i64) -> u8 {
    match crate::plugins::load(&crate::plugins::linked(), &settings.plugins, &settings.setup()) {
        Ok(loaded) => {
            let live = crate::live::LiveConfig::initial(&loaded.plugins);
            print!("{}", crate::explain::explain(&loaded.plugins, &live.plugins, user));
            0
        }
        Err(e) => refuse(&e),
    }
}

/// `rollout status`.
pub fn status(settings: &Settings) -> u8 {
    let loaded = match crate::plugins::load(&crate::plugins::linked(), &settings.plugins, &settings.setup()) {
        Ok(loaded) => loaded,
        Err(e) => return refuse(&e),
    };
    let live = crate::live::LiveConfig::initial(&loaded.plugins);
    let config: Vec<_> = loaded
        .plugins
        .iter()
        .zip(&live.plugins)
        .filter(|(p, _)| !p.manifest.versions.is_empty())
        .map(|(p, l)| (p.manifest.id, l.describe()))
        .collect();
    let path = settings.host.data_dir.join(crate::status::STATUS_FILE);
    let status: Option<serde_json::Value> =
        std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let age = std::fs::metadata(&path).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
    print!("{}", crate::status::render(&config, status.as_ref(), age));
    0
}

/// `rollout check`: 0 healthy, 3 rolled back, 4 no running host.
pub fn check(settings: &Settings, plugin: &str) -> u8 {
    let path = settings.host.data_dir.join(crate::status::STATUS_FILE);
    let fresh = crate::rollout::commands::running_generation(&settings.host.data_dir).is_some();
    let status: Option<serde_json::Value> =
        std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let (Some(status), true) = (status, fresh) else {
        eprintln!("no running host seen (no fresh `{}`)", path.display());
        return 4;
    };
    let Some(p) = status["plugins"].as_array().into_iter().flatten().find(|p| p["id"] == plugin) else {
        eprintln!("the running host has no versioned plugin `{plugin}`");
        return 4;
    };
    if let Some(reason) = p["config"]["override"].as_str() {
        println!("ROLLED BACK automatically: {reason}");
        return 3;
    }
    if p["config"]["rollout"]["kill"].as_bool() == Some(true) {
        println!("ROLLED BACK: the kill switch is on");
        return 3;
    }
    println!("healthy: generation {}", status["generation"]);
    0
}

/// `rollout clear-override`.
pub fn clear_override(settings: &Settings, config: Option<&std::path::Path>, plugin: &str, wait: u64) -> u8 {
    let path = crate::overrides::path(config, &settings.host.data_dir);
    let mut all = crate::overrides::load(&path);
    if all.remove(plugin).is_none() {
        println!("no automatic rollback of `{}` stands (`{}`)", plugin, path.display());
        return 0;
    }
    let before = crate::rollout::commands::running_generation(&settings.host.data_dir);
    if let Err(e) = crate::overrides::save(&path, &all) {
        eprintln!("error: cannot write `{}`: {e}", path.display());
        return 1;
    }
    println!("automatic rollback of `{}` cleared", plugin);
    confirm(settings, before, wait)
}

/// Waits for the running host to apply a change made on disk, and says so.
fn confirm(settings: &Settings, before: Option<u64>, wait: u64) -> u8 {
    let data_dir = &settings.host.data_dir;
    match (before, wait) {
        (_, 0) => 0,
        (None, _) => {
            println!(
                "no running host seen (no fresh status file in `{}`): it applies the change when it starts",
                data_dir.display()
            );
            0
        }
        (Some(before), wait) => {
            match crate::rollout::commands::wait_applied(
                data_dir,
                before,
                std::time::Duration::from_secs(wait),
            ) {
                Some(took) => {
                    println!(
                        "confirmed by the running host in {} ms (generation {})",
                        took.as_millis(),
                        before + 1
                    );
                    0
                }
                None => {
                    eprintln!(
                        "error: the running host did not confirm within {wait} s — check `vox-host rollout status` and its logs"
                    );
                    1
                }
            }
        }
    }
}

/// `rollout set|allow|deny|enable|disable|kill|unkill`.
pub fn edit_rollout(
    settings: &Settings,
    config: Option<&std::path::Path>,
    change: crate::rollout::commands::Change,
    plugin: &str,
    wait: u64,
) -> u8 {
    let Some(config) = config else {
        eprintln!("error: rollout changes edit the config file: give it with --config FILE or VOX_CONFIG");
        return 2;
    };
    let registry = match crate::registry::Registry::build(crate::plugins::linked().iter().map(|r| r.manifest))
    {
        Ok(r) => r,
        Err(errors) => return refuse(&StartError::Registry(errors)),
    };
    let env: Vec<(String, String)> = std::env::vars().collect();
    let edited = match crate::rollout::commands::apply(config, env, &registry, plugin, &change) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if !edited.changed {
        println!(
            "config `{}` already says so: {change:?} for `{}`; nothing to apply",
            config.display(),
            plugin
        );
        return 0;
    }
    println!("config `{}` updated: {change:?} for `{}`", config.display(), plugin);
    confirm(settings, edited.generation_before, wait)
}
