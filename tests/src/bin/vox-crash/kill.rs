//! Starts this binary as a child, kills it with SIGKILL a delay after it has
//! begun a chosen operation, and returns the lines it wrote (drained as they
//! come, so a full pipe never holds the child up).
//!
//! The delay counts from the child's own progress, not from its start: on a
//! loaded machine (CI builds the benchmarks beside the tests) starting the
//! process and opening the store can take the whole window, and kills that
//! land before the first write check nothing.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a child may take to reach the chosen operation before it is
/// killed anyway (a child that hangs must not hang the campaign).
const REACH: Duration = Duration::from_secs(30);

/// A kill's timer starts at the child's 1st to `BEGUN`-th operation, so the
/// kill lands anywhere in its first few operations or after them.
pub const BEGUN: u64 = 3;

/// Runs `args` as a child until it has begun its `begun`-th operation (a line
/// starting `B `), then for `delay` more, then SIGKILL; its stdout lines.
pub fn run(args: &[String], begun: u64, delay: Duration) -> Vec<String> {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return vec![format!("X cannot find this binary: {e}")],
    };
    let mut child = match Command::new(exe).args(args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn() {
        Ok(child) => child,
        Err(e) => return vec![format!("X cannot start the child: {e}")],
    };
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let mut lines = Vec::new();
    let deadline = Instant::now() + REACH;
    let mut begins = 0;
    while begins < begun {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else { break };
        match rx.recv_timeout(left) {
            Ok(line) => {
                begins += u64::from(line.starts_with("B "));
                lines.push(line);
            }
            // The child ended (or wrote nothing in time): kill what is left.
            Err(_) => break,
        }
    }
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
    // The pipe closes with the child, and the reader thread with it.
    lines.extend(rx);
    lines
}
