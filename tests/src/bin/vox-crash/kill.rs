//! Starts this binary as a child, kills it with SIGKILL after a delay, and
//! returns the lines it wrote (drained as they come, so a full pipe never
//! holds the child up).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Runs `args` as a child for `delay`, then SIGKILL; its stdout lines.
pub fn run(args: &[String], delay: Duration) -> Vec<String> {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return vec![format!("X cannot find this binary: {e}")],
    };
    let mut child = match Command::new(exe).args(args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn() {
        Ok(child) => child,
        Err(e) => return vec![format!("X cannot start the child: {e}")],
    };
    let reader = child.stdout.take().map(|out| {
        std::thread::spawn(move || BufReader::new(out).lines().map_while(Result::ok).collect::<Vec<_>>())
    });
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
    reader.and_then(|r| r.join().ok()).unwrap_or_default()
}
