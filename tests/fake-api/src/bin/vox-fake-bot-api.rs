//! The fake Bot API in a process of its own, driven over `/_control/`, so a
//! benchmark can read a bot's CPU time without the fake's mixed in.
//!
//! `vox-fake-bot-api [--port N]` prints `<url> <token>` as its first stdout
//! line and serves until SIGTERM or Ctrl-C. It keeps the per-method counts the
//! control routes read, not the whole call log (`FakeBotApi::keep_call_log`).

use std::io::Write;
use std::process::ExitCode;

use vox_fake_bot_api::FakeBotApi;

const USAGE: &str = "usage: vox-fake-bot-api [--port N]   (0 or none: any free port on 127.0.0.1)";

fn port_from_args() -> Result<u16, String> {
    let mut args = std::env::args().skip(1);
    let mut port = 0;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let value = args.next().ok_or("--port needs a value")?;
                port = value.parse().map_err(|_| format!("--port: `{value}` is not a port"))?;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(port)
}

// One thread: a benchmark's bot gets the other core, and the fake's tasks
// wake each other without crossing threads (a quarter less CPU per update
// than on two workers, measured with bench-throughput.sh).
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let port = match port_from_args() {
        Ok(port) => port,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let api = match FakeBotApi::start_with_control(port).await {
        Ok(api) => api,
        Err(e) => {
            eprintln!("error: cannot bind 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    api.keep_call_log(false);
    // The caller reads this line to learn the port; flush, as stdout is a pipe.
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "{} {}", api.url(), api.token()).and_then(|()| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    shutdown_signal().await;
    api.shutdown().await;
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
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
