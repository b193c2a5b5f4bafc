//! The operator's commands behind the binary's CLI — check-config and the
//! rollout family — each printing for a person and returning the exit code.
//! They run beside a production host, so they never build a plugin: plugin
//! sections are checked with `plugins::check` (no file opened, locked or
//! written), and the only files written are the config file and the override
//! file, each atomically.
//!
//! - [`check`](mod@check): the plugin table of `check-config`.
//! - [`explain`](mod@explain): `rollout explain`.
//! - [`commands`]: the rollout edits (`set`, `allow`, `kill`, …) and their confirmation.
//! - [`edit`]: editing the TOML config file in place, comments kept, atomically.
//! - [`status`](mod@status): `rollout status` as a person reads it.

pub mod backup;
pub mod check;
pub mod commands;
pub mod edit;
pub mod explain;
pub mod healthcheck;
pub mod status;

use crate::{Settings, StartError};

/// Prints a refused start; exit code 2.
pub fn refuse(e: &StartError) -> u8 {
    eprintln!("error: {e}");
    2
}

/// `check-config`: the plugin table.
pub fn check_config(settings: &Settings) -> u8 {
    match checked(settings) {
        Ok(checked) => {
            print!("{}", crate::operator::check::plugin_table(&checked));
            if settings.token().is_err() {
                println!("\nnote: no Telegram token is set; `run` needs VOX__TELEGRAM__TOKEN.");
            }
            println!("config OK");
            0
        }
        Err(code) => code,
    }
}

/// Every linked plugin's section checked against `settings`, or the exit
/// code of the refusal (its message printed).
fn checked(settings: &Settings) -> Result<crate::registry::load::Checked, u8> {
    crate::registry::load::check(&crate::registry::load::linked(), &settings.plugins, &settings.setup())
        .map_err(|e| refuse(&e))
}

/// `backup-paths`: what a backup must hold, one `kind<TAB>path` per line.
pub fn backup_paths(settings: &Settings, config_file: Option<&std::path::Path>) -> u8 {
    let checked = match checked(settings) {
        Ok(checked) => checked,
        Err(code) => return code,
    };
    let overrides = crate::rollout::overrides::path(config_file, &settings.host.data_dir);
    match backup::paths(&checked, &settings.host.data_dir, &overrides) {
        Ok(paths) => {
            for (kind, path) in paths {
                println!("{kind}\t{}", path.display());
            }
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// `rollout explain <user>`.
pub fn explain(settings: &Settings, user: i64) -> u8 {
    match checked(settings) {
        Ok(checked) => {
            let live = crate::rollout::live::LiveConfig::initial(&checked.plugins);
            print!("{}", crate::operator::explain::explain(&checked.plugins, &live.plugins, user));
            0
        }
        Err(code) => code,
    }
}

/// `rollout status`.
pub fn status(settings: &Settings) -> u8 {
    let checked = match checked(settings) {
        Ok(checked) => checked,
        Err(code) => return code,
    };
    let live = crate::rollout::live::LiveConfig::initial(&checked.plugins);
    let config: Vec<_> = checked
        .plugins
        .iter()
        .zip(&live.plugins)
        .filter(|(p, _)| !p.manifest.versions.is_empty())
        .map(|(p, l)| (p.manifest.id, l.describe()))
        .collect();
    let path = settings.host.data_dir.join(crate::rollout::status::STATUS_FILE);
    let status: Option<serde_json::Value> =
        std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let age = std::fs::metadata(&path).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
    print!("{}", status::render(&config, status.as_ref(), age));
    0
}

/// `rollout check`: 0 healthy, 3 rolled back, 4 no running host.
pub fn check(settings: &Settings, plugin: &str) -> u8 {
    let path = settings.host.data_dir.join(crate::rollout::status::STATUS_FILE);
    let fresh = crate::operator::commands::running_generation(&settings.host.data_dir).is_some();
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

/// `rollout clear-override`: confirmed once the running host serves the
/// candidate again (no override in its status).
pub fn clear_override(settings: &Settings, config: Option<&std::path::Path>, plugin: &str, wait: u64) -> u8 {
    let source = match crate::rollout::overrides::Source::configured(settings, config) {
        Ok(source) => source,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let path = source.path().to_owned();
    let mut all = source.load();
    if all.remove(plugin).is_none() {
        println!("no automatic rollback of `{}` stands (`{}`)", plugin, path.display());
        return 0;
    }
    let running = crate::operator::commands::running_generation(&settings.host.data_dir).is_some();
    if let Err(e) = source.save(&all) {
        eprintln!("error: cannot write `{}`: {e}", path.display());
        return 1;
    }
    println!("automatic rollback of `{}` cleared", plugin);
    confirm(settings, running, wait, |status| {
        plugin_status(status, plugin).is_some_and(|p| p["config"]["override"].is_null())
    })
}

fn plugin_status<'a>(status: &'a serde_json::Value, plugin: &str) -> Option<&'a serde_json::Value> {
    status["plugins"].as_array()?.iter().find(|p| p["id"] == plugin)
}

/// Waits for the running host to show a change made on disk live, and says so.
fn confirm(settings: &Settings, running: bool, wait: u64, live: impl Fn(&serde_json::Value) -> bool) -> u8 {
    let data_dir = &settings.host.data_dir;
    if wait == 0 {
        return 0;
    }
    if !running {
        println!(
            "no running host seen (no fresh status file in `{}`): it applies the change when it starts",
            data_dir.display()
        );
        return 0;
    }
    match crate::operator::commands::wait_live(data_dir, std::time::Duration::from_secs(wait), live) {
        Some((took, status)) => {
            println!(
                "confirmed by the running host in {} ms (generation {})",
                took.as_millis(),
                status["generation"]
            );
            0
        }
        None => {
            let refused = crate::operator::commands::running_status(data_dir)
                .and_then(|s| s["last_reload_error"].as_str().map(str::to_owned));
            match refused {
                Some(e) => eprintln!("error: the running host refused the change: {e}"),
                None => eprintln!(
                    "error: the running host did not confirm within {wait} s — check `vox-host rollout status` and its logs"
                ),
            }
            1
        }
    }
}

/// `rollout set|allow|deny|enable|disable|kill|unkill`: confirmed once the
/// running host reports the edited file's text as live.
pub fn edit_rollout(
    settings: &Settings,
    sources: &crate::config::Sources,
    change: crate::operator::commands::Change,
    plugin: &str,
    wait: u64,
) -> u8 {
    let Some(config) = sources.file.as_deref() else {
        eprintln!("error: rollout changes edit the config file: give it with --config FILE or VOX_CONFIG");
        return 2;
    };
    let edited =
        match crate::operator::commands::apply(sources, &crate::registry::load::linked(), plugin, &change) {
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
    confirm(settings, edited.host_running, wait, |status| status["config_stamp"] == edited.stamp.as_str())
}
