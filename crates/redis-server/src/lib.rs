//! # A real `redis-server` for tests
//!
//! Starts Debian's `redis-server` on a free 127.0.0.1 port with its own temp
//! directory (no persistence), waits until it answers `PING`, and stops it by
//! pid when dropped — the way redis-rs's own tests run theirs. When
//! `redis-server` is not on `PATH`, [`RedisServer::start`] prints one loud
//! line and returns `None` so a local `cargo test` skips; with
//! `VOX_REQUIRE_REDIS=1` (CI sets it) it panics instead, so CI never passes
//! by skipping.
//!
//! ```no_run
//! let Some(redis) = vox_redis_server::RedisServer::start() else { return };
//! println!("talk to {}", redis.url());
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The variable that turns a skip into a failure.
pub const REQUIRE: &str = "VOX_REQUIRE_REDIS";

/// A running `redis-server` of this test's own.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    persistent: bool,
}

/// Whether `redis-server` can be run here.
pub fn available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl RedisServer {
    /// A new server, or `None` (after one loud line) when `redis-server` is not
    /// installed and [`REQUIRE`] is not set.
    pub fn start() -> Option<Self> {
        Self::launch(false)
    }

    /// As [`RedisServer::start`], with every write in an append-only file
    /// fsynced before Redis answers: what it held survives [`RedisServer::kill`]
    /// and [`RedisServer::restart`].
    pub fn start_persistent() -> Option<Self> {
        Self::launch(true)
    }

    fn launch(persistent: bool) -> Option<Self> {
        if !available() {
            if std::env::var(REQUIRE).is_ok_and(|v| v == "1") {
                panic!(
                    "redis-server is not on PATH and {REQUIRE}=1: install it (apt-get install redis-server)"
                );
            }
            eprintln!(
                "\n!!! SKIPPED: redis-server is not on PATH, so this Redis test did not run \
                 (apt-get install redis-server; CI sets {REQUIRE}=1 and fails instead) !!!\n"
            );
            return None;
        }
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("vox-redis-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temp dir for redis-server");
        // A port another process takes between our probe and redis' bind makes
        // the server exit at once: try another.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut server = Self { child: None, port, dir: dir.clone(), persistent };
            match server.spawn() {
                Ok(()) => return Some(server),
                Err(e) => {
                    last = e;
                    server.dir = PathBuf::new();
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("redis-server did not start: {last}");
    }

    fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::File::create(self.dir.join("redis.log")).map_err(|e| e.to_string())?;
        let aof: &[&str] = if self.persistent {
            &["--appendonly", "yes", "--appendfsync", "always"]
        } else {
            &["--appendonly", "no"]
        };
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(aof)
            .arg("--dir")
            .arg(&self.dir)
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run redis-server: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if ping(self.port) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
                return Err(format!("exited with {status}: {log}"));
            }
            if Instant::now() > deadline {
                self.kill();
                return Err("did not answer PING within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `redis://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its directory (its log is `redis.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The string at `key` (`GET`), `None` when it is not set: for tests that
    /// check what a host left in Redis without a client library of their own.
    pub fn get(&self, key: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis-server");
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let request = format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len());
        stream.write_all(request.as_bytes()).expect("send GET");
        let mut reader = std::io::BufReader::new(stream);
        let mut header = String::new();
        std::io::BufRead::read_line(&mut reader, &mut header).expect("GET's answer");
        let len: i64 = header.trim().strip_prefix('$').and_then(|n| n.parse().ok()).expect("a bulk string");
        if len < 0 {
            return None;
        }
        let mut value = vec![0u8; len as usize + 2];
        reader.read_exact(&mut value).expect("GET's value");
        value.truncate(len as usize);
        Some(String::from_utf8(value).expect("UTF-8 value"))
    }

    /// Kills the server (SIGKILL): Redis is gone, as when its machine dies.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (empty unless it was started persistent).
    pub fn restart(&mut self) {
        self.kill();
        if let Err(e) = self.spawn() {
            panic!("redis-server did not start again on port {}: {e}", self.port);
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Whether a Redis answers `PING` on `port`.
fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut answer = [0u8; 7];
    stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_answers_and_is_gone_after_a_kill_and_back_after_a_restart() {
        let Some(mut redis) = RedisServer::start() else { return };
        assert!(ping(redis.port()));
        assert!(redis.url().starts_with("redis://127.0.0.1:"));
        redis.kill();
        assert!(!ping(redis.port()), "killed");
        redis.restart();
        assert!(ping(redis.port()), "back");
        let dir = redis.dir().to_owned();
        drop(redis);
        assert!(!dir.exists(), "its directory is removed");
    }

    /// One command over a raw connection; the answer's bytes (one read).
    fn command(port: u16, line: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
        stream.write_all(format!("{line}\r\n").as_bytes()).expect("write");
        let mut answer = [0u8; 64];
        let n = stream.read(&mut answer).expect("read");
        String::from_utf8_lossy(&answer[..n]).into_owned()
    }

    #[test]
    fn a_persistent_server_keeps_its_data_across_a_kill() {
        let Some(mut redis) = RedisServer::start_persistent() else { return };
        assert_eq!(command(redis.port(), "SET k v"), "+OK\r\n");
        redis.kill();
        redis.restart();
        assert_eq!(command(redis.port(), "GET k"), "$1\r\nv\r\n", "the key survived SIGKILL");
        assert_eq!(redis.get("k").as_deref(), Some("v"));
        assert_eq!(redis.get("missing"), None);
    }
}
