//! The host under check: a real `vox-host run` child process configured by a
//! config file (my-reports on v2) and environment variables, its stdout and
//! stderr captured to a file, stopped with SIGTERM — and killed by a drop
//! guard if the checker ends any other way.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The config file: my-reports serves everybody the v2 flow over `<data_dir>/reports`.
pub const CONFIG: &str = "# vox-smoke: my-reports on the v2 flow over the seeded reports\n\
    [plugins.my_reports]\nversion = \"v2\"\nreports_dir = \"reports\"\n";

/// How the child is started.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The `vox-host` binary.
    pub bin: PathBuf,
    /// The config file.
    pub config: PathBuf,
    /// `VOX__HOST__DATA_DIR`.
    pub data_dir: PathBuf,
    /// The fake Bot API's token.
    pub token: String,
    /// The fake Bot API's root URL.
    pub api_url: String,
    /// `VOX__OPS__LISTEN`: where `/healthz` is served.
    pub ops: SocketAddr,
    /// `VOX__PLUGINS__MY_REPORTS__SNAPSHOT_TTL_SECS`.
    pub snapshot_ttl: Duration,
    /// `VOX__PLUGINS__MY_REPORTS__MAX_LIST_BYTES`, only when the default had to be lowered.
    pub max_list_bytes: Option<u64>,
    /// Where stdout and stderr go.
    pub log: PathBuf,
}

impl Launch {
    /// The environment the child gets on top of the checker's own.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("VOX__TELEGRAM__TOKEN", self.token.clone()),
            ("VOX__TELEGRAM__API_URL", self.api_url.clone()),
            ("VOX__TELEGRAM__POLL_TIMEOUT_SECS", "1".to_owned()),
            ("VOX__HOST__DATA_DIR", self.data_dir.display().to_string()),
            ("VOX__LOG__FORMAT", "json".to_owned()),
            ("VOX__OPS__LISTEN", self.ops.to_string()),
            ("VOX__PLUGINS__MY_REPORTS__SNAPSHOT_TTL_SECS", self.snapshot_ttl.as_secs().to_string()),
        ];
        if let Some(bytes) = self.max_list_bytes {
            env.push(("VOX__PLUGINS__MY_REPORTS__MAX_LIST_BYTES", bytes.to_string()));
        }
        env
    }
}

/// The running child; killed on drop unless it already stopped.
#[derive(Debug)]
pub struct HostProcess {
    child: Child,
}

/// How the host ended on SIGTERM.
#[derive(Debug)]
pub enum Stopped {
    /// It had exited before SIGTERM was sent.
    Already(ExitStatus),
    /// It exited by itself.
    Exited { status: ExitStatus, after: Duration },
    /// It was still running after the grace period, and was killed.
    Hung { grace: Duration },
}

impl HostProcess {
    /// Spawns `vox-host --config FILE run` with the launch's environment.
    pub fn spawn(launch: &Launch) -> std::io::Result<HostProcess> {
        let log = File::create(&launch.log)?;
        let mut cmd = Command::new(&launch.bin);
        cmd.arg("--config").arg(&launch.config).arg("run");
        // The checker's own VOX_* settings must not leak into the host under check.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("VOX_") || key.to_string_lossy().starts_with("TELOXIDE_") {
                cmd.env_remove(&key);
            }
        }
        cmd.envs(launch.env()).stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
        Ok(HostProcess { child: cmd.spawn()? })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `None` while running, else how it exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Sends SIGTERM and waits up to `grace` for the exit; kills it after that.
    pub async fn terminate(&mut self, grace: Duration) -> std::io::Result<Stopped> {
        let started = Instant::now();
        if let Some(status) = self.exited() {
            return Ok(Stopped::Already(status));
        }
        let sent = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status()?;
        if !sent.success() {
            return Err(std::io::Error::other(format!("kill -TERM {} failed: {sent}", self.pid())));
        }
        while started.elapsed() < grace {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Stopped::Exited { status, after: started.elapsed() });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Ok(Stopped::Hung { grace })
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The config file for the run.
pub fn write_config(path: &Path) -> std::io::Result<()> {
    std::fs::write(path, CONFIG)
}
