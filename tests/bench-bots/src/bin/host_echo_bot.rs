//! vox-host as `vox-host run` serves, with an echo plugin linked beside the
//! production plugins: the contender in `scripts/bench-throughput.sh`.
//!
//! `vox-host run` links no plugin that answers every message with exactly one
//! `sendMessage`, which the bench needs to compare like with like against the
//! bare bot. Config as `vox-host run` takes it: `VOX_CONFIG` and `VOX__*`.

use std::path::PathBuf;
use std::process::ExitCode;

use vox_host::Settings;

// What `vox-host run` links, so the registry and routing are the production ones.
use vox_main_menu as _;
use vox_my_reports as _;

// The echo plugin, shared with the in-process benches so all measure the same plugin.
use vox_bench_bots as _;

/// The steps of `serve` in bot/src/main.rs, minus the command line.
fn main() -> ExitCode {
    let config = std::env::var_os("VOX_CONFIG").map(PathBuf::from);
    let env: Vec<(String, String)> = std::env::vars().collect();
    let settings = match Settings::load(config.as_deref(), env.clone()) {
        Ok(settings) => settings,
        Err(e) => return ExitCode::from(vox_host::operator::refuse(&vox_host::StartError::Config(e))),
    };
    let _log = vox_host::ops::logging::init(settings.log.format, &settings.log.level);
    let bot = match vox_host::bot(&settings) {
        Ok(bot) => bot,
        Err(e) => return ExitCode::from(vox_host::operator::refuse(&e)),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: starting tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Building may start background work (the Redis connection manager).
    let _inside = runtime.enter();
    let mut builder = vox_host::HostBuilder::new(settings);
    if let Some(path) = config {
        builder = builder.watch_config(path, env);
    }
    let result: Result<(), vox_host::Error> = match builder.build(bot) {
        Ok(host) => runtime.block_on(host.run(vox_host::shutdown_signal())).map_err(Into::into),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
