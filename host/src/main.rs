//! The `vox-host` binary: parses the command line, loads config, links every
//! plugin crate and hands over to the runtime.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use vox_host::config::LogFormat;
use vox_host::{Settings, StartError};

// Linking a plugin crate is what registers it: name every one here.
use vox_main_menu as _;
use vox_my_reports as _;

/// A Telegram bot host with statically linked plugins.
#[derive(Debug, Parser)]
#[command(name = "vox-host", version, about)]
struct Cli {
    /// Config file layered over the embedded defaults.
    #[arg(long, env = "VOX_CONFIG", global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log line format (overrides `log.format`).
    #[arg(long, global = true, value_enum)]
    log_format: Option<CliLogFormat>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CliLogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve Telegram updates by long polling (the default).
    Run,
    /// Validate the config and the plugin registry, print the plugin table.
    CheckConfig,
    /// Canary rollout of versioned plugins.
    Rollout {
        #[command(subcommand)]
        command: RolloutCommand,
    },
}

#[derive(Debug, Subcommand)]
enum RolloutCommand {
    /// Which version a user gets under the config, and why.
    Explain {
        /// Telegram user id.
        user_id: i64,
    },
    /// The config, what the running host applied, and users served per version.
    Status,
    /// Give the candidate to this percentage of users (0..100, fractions allowed).
    Set {
        /// Percent of users, by sticky bucket.
        percent: f64,
        #[command(flatten)]
        edit: EditOpts,
    },
    /// This user always gets the candidate (and leaves the deny list).
    Allow {
        /// Telegram user id.
        user_id: i64,
        #[command(flatten)]
        edit: EditOpts,
    },
    /// This user never gets the candidate (and leaves the allow list).
    Deny {
        /// Telegram user id.
        user_id: i64,
        #[command(flatten)]
        edit: EditOpts,
    },
    /// Switch a version on.
    Enable {
        /// e.g. v2
        version: String,
        #[command(flatten)]
        edit: EditOpts,
    },
    /// Switch a version off outright.
    Disable {
        /// e.g. v1
        version: String,
        #[command(flatten)]
        edit: EditOpts,
    },
    /// Kill switch: everyone gets stable, at once.
    Kill {
        #[command(flatten)]
        edit: EditOpts,
    },
    /// Clear the kill switch.
    Unkill {
        #[command(flatten)]
        edit: EditOpts,
    },
    /// Exit 0 while the running host serves the canary; 3 once it was rolled back
    /// (automatically or killed); 4 when no running host is seen.
    Check {
        /// The versioned plugin to check.
        #[arg(long, default_value = "my_reports")]
        plugin: String,
    },
    /// Clear an automatic rollback (the candidate serves again as configured).
    ClearOverride {
        #[command(flatten)]
        edit: EditOpts,
    },
}

/// Options of the commands that edit the config file.
#[derive(Debug, clap::Args)]
struct EditOpts {
    /// The versioned plugin to change.
    #[arg(long, default_value = "my_reports")]
    plugin: String,
    /// Seconds to wait for the running host to confirm (0: do not wait).
    #[arg(long, default_value_t = 10)]
    wait: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut settings = match Settings::load(cli.config.as_deref(), std::env::vars()) {
        Ok(s) => s,
        Err(e) => return refuse(&StartError::Config(e)),
    };
    if let Some(f) = cli.log_format {
        settings.log.format = match f {
            CliLogFormat::Human => LogFormat::Human,
            CliLogFormat::Json => LogFormat::Json,
        };
    }
    match cli.command.unwrap_or(Command::Run) {
        Command::CheckConfig => check_config(&settings),
        Command::Rollout { command: RolloutCommand::Explain { user_id } } => explain(&settings, user_id),
        Command::Rollout { command: RolloutCommand::Status } => status(&settings),
        Command::Rollout { command: RolloutCommand::Check { plugin } } => check(&settings, &plugin),
        Command::Rollout { command: RolloutCommand::ClearOverride { edit } } => {
            clear_override(&settings, cli.config.as_deref(), &edit)
        }
        Command::Rollout { command } => {
            use vox_host::rollout::commands::Change;
            let (change, edit) = match command {
                RolloutCommand::Set { percent, edit } => (Change::Set(percent), edit),
                RolloutCommand::Allow { user_id, edit } => (Change::Allow(user_id), edit),
                RolloutCommand::Deny { user_id, edit } => (Change::Deny(user_id), edit),
                RolloutCommand::Enable { version, edit } => (Change::Enable(version), edit),
                RolloutCommand::Disable { version, edit } => (Change::Disable(version), edit),
                RolloutCommand::Kill { edit } => (Change::Kill, edit),
                RolloutCommand::Unkill { edit } => (Change::Unkill, edit),
                RolloutCommand::Explain { .. }
                | RolloutCommand::Status
                | RolloutCommand::Check { .. }
                | RolloutCommand::ClearOverride { .. } => {
                    return ExitCode::FAILURE;
                }
            };
            edit_rollout(&settings, cli.config.as_deref(), change, &edit)
        }
        Command::Run => match serve(settings, cli.config) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn refuse(e: &StartError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

fn check_config(settings: &Settings) -> ExitCode {
    match vox_host::plugins::load(&vox_host::plugins::linked(), &settings.plugins, &settings.setup()) {
        Ok(loaded) => {
            print!("{}", vox_host::check::plugin_table(&loaded));
            if settings.token().is_err() {
                println!("\nnote: no Telegram token is set; `run` needs VOX__TELEGRAM__TOKEN.");
            }
            println!("config OK");
            ExitCode::SUCCESS
        }
        Err(e) => refuse(&e),
    }
}

fn explain(settings: &Settings, user: i64) -> ExitCode {
    match vox_host::plugins::load(&vox_host::plugins::linked(), &settings.plugins, &settings.setup()) {
        Ok(loaded) => {
            let live = vox_host::live::LiveConfig::initial(&loaded.plugins);
            print!("{}", vox_host::explain::explain(&loaded.plugins, &live.plugins, user));
            ExitCode::SUCCESS
        }
        Err(e) => refuse(&e),
    }
}

fn status(settings: &Settings) -> ExitCode {
    let loaded =
        match vox_host::plugins::load(&vox_host::plugins::linked(), &settings.plugins, &settings.setup()) {
            Ok(loaded) => loaded,
            Err(e) => return refuse(&e),
        };
    let live = vox_host::live::LiveConfig::initial(&loaded.plugins);
    let config: Vec<_> = loaded
        .plugins
        .iter()
        .zip(&live.plugins)
        .filter(|(p, _)| !p.manifest.versions.is_empty())
        .map(|(p, l)| (p.manifest.id, l.describe()))
        .collect();
    let path = settings.host.data_dir.join(vox_host::status::STATUS_FILE);
    let status: Option<serde_json::Value> =
        std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let age = std::fs::metadata(&path).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
    print!("{}", vox_host::status::render(&config, status.as_ref(), age));
    ExitCode::SUCCESS
}

fn check(settings: &Settings, plugin: &str) -> ExitCode {
    let path = settings.host.data_dir.join(vox_host::status::STATUS_FILE);
    let fresh = vox_host::rollout::commands::running_generation(&settings.host.data_dir).is_some();
    let status: Option<serde_json::Value> =
        std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let (Some(status), true) = (status, fresh) else {
        eprintln!("no running host seen (no fresh `{}`)", path.display());
        return ExitCode::from(4);
    };
    let Some(p) = status["plugins"].as_array().into_iter().flatten().find(|p| p["id"] == plugin) else {
        eprintln!("the running host has no versioned plugin `{plugin}`");
        return ExitCode::from(4);
    };
    if let Some(reason) = p["config"]["override"].as_str() {
        println!("ROLLED BACK automatically: {reason}");
        return ExitCode::from(3);
    }
    if p["config"]["rollout"]["kill"].as_bool() == Some(true) {
        println!("ROLLED BACK: the kill switch is on");
        return ExitCode::from(3);
    }
    println!("healthy: generation {}", status["generation"]);
    ExitCode::SUCCESS
}

fn clear_override(settings: &Settings, config: Option<&std::path::Path>, edit: &EditOpts) -> ExitCode {
    let path = vox_host::overrides::path(config, &settings.host.data_dir);
    let mut all = vox_host::overrides::load(&path);
    if all.remove(&edit.plugin).is_none() {
        println!("no automatic rollback of `{}` stands (`{}`)", edit.plugin, path.display());
        return ExitCode::SUCCESS;
    }
    let before = vox_host::rollout::commands::running_generation(&settings.host.data_dir);
    if let Err(e) = vox_host::overrides::save(&path, &all) {
        eprintln!("error: cannot write `{}`: {e}", path.display());
        return ExitCode::FAILURE;
    }
    println!("automatic rollback of `{}` cleared", edit.plugin);
    confirm(settings, before, edit.wait)
}

/// Waits for the running host to apply a change made on disk, and says so.
fn confirm(settings: &Settings, before: Option<u64>, wait: u64) -> ExitCode {
    let data_dir = &settings.host.data_dir;
    match (before, wait) {
        (_, 0) => ExitCode::SUCCESS,
        (None, _) => {
            println!(
                "no running host seen (no fresh status file in `{}`): it applies the change when it starts",
                data_dir.display()
            );
            ExitCode::SUCCESS
        }
        (Some(before), wait) => {
            match vox_host::rollout::commands::wait_applied(
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
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!(
                        "error: the running host did not confirm within {wait} s — check `vox-host rollout status` and its logs"
                    );
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn edit_rollout(
    settings: &Settings,
    config: Option<&std::path::Path>,
    change: vox_host::rollout::commands::Change,
    edit: &EditOpts,
) -> ExitCode {
    let Some(config) = config else {
        eprintln!("error: rollout changes edit the config file: give it with --config FILE or VOX_CONFIG");
        return ExitCode::from(2);
    };
    let registry =
        match vox_host::registry::Registry::build(vox_host::plugins::linked().iter().map(|r| r.manifest)) {
            Ok(r) => r,
            Err(errors) => return refuse(&StartError::Registry(errors)),
        };
    let env: Vec<(String, String)> = std::env::vars().collect();
    let edited = match vox_host::rollout::commands::apply(config, env, &registry, &edit.plugin, &change) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if !edited.changed {
        println!(
            "config `{}` already says so: {change:?} for `{}`; nothing to apply",
            config.display(),
            edit.plugin
        );
        return ExitCode::SUCCESS;
    }
    println!("config `{}` updated: {change:?} for `{}`", config.display(), edit.plugin);
    confirm(settings, edited.generation_before, edit.wait)
}

fn serve(settings: Settings, config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    vox_host::logging::init(settings.log.format, &settings.log.level);
    let bot = match vox_host::bot(&settings) {
        Ok(bot) => bot,
        Err(e) => return Ok(refuse(&e)),
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    let mut builder = vox_host::HostBuilder::new(settings);
    if let Some(path) = config {
        builder = builder.watch_config(path, std::env::vars().collect());
    }
    let result: Result<(), vox_host::Error> = match builder.build(bot) {
        Ok(host) => runtime.block_on(host.run(shutdown_signal())).map_err(Into::into),
        Err(e) => Err(e.into()),
    };
    Ok(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    })
}

/// Ctrl-C or SIGTERM: stop polling, finish in-flight updates, exit.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
