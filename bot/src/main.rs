//! The `vox-host` binary: parses the command line, loads config, links every
//! plugin crate and hands over to the runtime. The library (`vox-host`) knows
//! no plugin and no fake Telegram; this crate is where they meet.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use vox_host::config::LogFormat;
use vox_host::config::Sources;
use vox_host::{Settings, StartError};

mod reports;
mod sandbox;

/// The linked plugins' config sections (their defaults, every key written out).
const PLUGIN_DEFAULTS: &str = include_str!("../../config/plugins.toml");

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
    /// Print what a backup must hold (the data directory, the rollback
    /// override file, each plugin's own data), one `kind<TAB>path` per line.
    BackupPaths,
    /// Ask the running host's /healthz (on `ops.listen`): exit 0 when healthy,
    /// 1 when not — the container image's HEALTHCHECK.
    Healthcheck,
    /// Chat with the bot in this terminal: an embedded fake Telegram and demo
    /// reports, no token, no network.
    Sandbox {
        /// The Telegram user id to play (another id: another user's reports).
        #[arg(long, default_value_t = 1001)]
        user: i64,
        /// A real VoxPersona reports directory instead of the demo reports.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
    },
    /// my-reports' reports directory.
    Reports {
        #[command(subcommand)]
        command: ReportsCommand,
    },
    /// Canary rollout of versioned plugins.
    Rollout {
        #[command(subcommand)]
        command: RolloutCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ReportsCommand {
    /// Store one report (as the analysis pipeline would), under the store's lock.
    Add(reports::AddArgs),
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
    let sources = Sources::new(cli.config.clone(), std::env::vars()).with_defaults(PLUGIN_DEFAULTS);
    let mut settings = match sources.load() {
        Ok(s) => s,
        Err(e) => return ExitCode::from(vox_host::operator::refuse(&StartError::Config(e))),
    };
    if let Some(f) = cli.log_format {
        settings.log.format = match f {
            CliLogFormat::Human => LogFormat::Human,
            CliLogFormat::Json => LogFormat::Json,
        };
    }
    match cli.command.unwrap_or(Command::Run) {
        Command::CheckConfig => ExitCode::from(vox_host::operator::check_config(&settings)),
        Command::Healthcheck => ExitCode::from(vox_host::operator::healthcheck::run(&settings)),
        Command::BackupPaths => {
            ExitCode::from(vox_host::operator::backup_paths(&settings, sources.file.as_deref()))
        }
        Command::Sandbox { user, data } => {
            let options = sandbox::SandboxOptions { user, data, own_config: cli.config.is_some() };
            match run_sandbox(settings, options) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Reports { command: ReportsCommand::Add(args) } => match reports::add(&settings, args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Rollout { command: RolloutCommand::Explain { user_id } } => {
            ExitCode::from(vox_host::operator::explain(&settings, user_id))
        }
        Command::Rollout { command: RolloutCommand::Status } => {
            ExitCode::from(vox_host::operator::status(&settings))
        }
        Command::Rollout { command: RolloutCommand::Check { plugin } } => {
            ExitCode::from(vox_host::operator::check(&settings, &plugin))
        }
        Command::Rollout { command: RolloutCommand::ClearOverride { edit } } => ExitCode::from(
            vox_host::operator::clear_override(&settings, sources.file.as_deref(), &edit.plugin, edit.wait),
        ),
        Command::Rollout { command } => {
            use vox_host::operator::commands::Change;
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
            ExitCode::from(vox_host::operator::edit_rollout(
                &settings,
                &sources,
                change,
                &edit.plugin,
                edit.wait,
            ))
        }
        Command::Run => match serve(settings, sources) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run_sandbox(settings: Settings, options: sandbox::SandboxOptions) -> anyhow::Result<()> {
    // Only errors: log lines would interleave with the chat.
    let _log = vox_host::ops::logging::init(settings.log.format, "error");
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(async {
        let stdin = tokio::io::BufReader::new(tokio::io::stdin());
        let mut stdout = std::io::stdout();
        sandbox::run(settings, options, stdin, &mut stdout).await
    })
}

fn serve(settings: Settings, sources: Sources) -> anyhow::Result<ExitCode> {
    // Held until `serve` returns: the shutdown's last lines are written before exit.
    let _log = vox_host::ops::logging::init(settings.log.format, &settings.log.level);
    let bot = match vox_host::bot(&settings) {
        Ok(bot) => bot,
        Err(e) => return Ok(ExitCode::from(vox_host::operator::refuse(&e))),
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    // Building may start background work (the Redis connection manager).
    let _inside = runtime.enter();
    let mut builder = vox_host::HostBuilder::new(settings);
    if sources.file.is_some() {
        builder = builder.watch(sources);
    }
    let result: Result<(), vox_host::Error> = match builder.build(bot) {
        Ok(host) => runtime.block_on(host.run(vox_host::shutdown_signal())).map_err(Into::into),
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
