//! `vox-host run` as a child process of a test, on the fake Bot API: the
//! environment every such test gives it (token, API URL, no flood throttle —
//! the tests are about other things —, its data directory and ops port),
//! stderr to a log file. Included by the tests that start one.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

use vox_fake_bot_api::FakeBotApi;

/// The command, ready for a test's own `env`s and `spawn`.
pub fn vox_host(config: &Path, api: &FakeBotApi, data: &Path, ops_port: u16, log: std::fs::File) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vox-host"));
    command
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("VOX__TELEGRAM__TOKEN", api.token())
        .env("VOX__TELEGRAM__API_URL", api.url())
        .env("VOX__TELEGRAM__THROTTLE", "false")
        .env("VOX__HOST__DATA_DIR", data)
        .env("VOX__OPS__LISTEN", format!("127.0.0.1:{ops_port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    command
}
