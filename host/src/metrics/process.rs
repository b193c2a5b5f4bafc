//! The process's own figures for `/metrics`: memory, CPU time, open files and
//! threads from `/proc/self` (Linux), and the async runtime's lag.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Metrics;

/// What `/proc/self` says now; `None` fields where it cannot be read.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ProcessStats {
    /// Resident set size, bytes.
    pub resident_bytes: Option<u64>,
    /// Virtual memory size, bytes.
    pub virtual_bytes: Option<u64>,
    /// User + system CPU time, seconds.
    pub cpu_seconds: Option<f64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// OS threads.
    pub threads: Option<u64>,
}

/// Linux's clock ticks per second for `/proc/<pid>/stat` times (USER_HZ, fixed at 100
/// on every architecture Linux exposes to user space).
const TICKS_PER_SEC: f64 = 100.0;

impl ProcessStats {
    /// Reads `/proc/self` (blocking: call it off the executor). Elsewhere, all `None`.
    pub fn read() -> Self {
        let mut s = Self::default();
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            s.parse_stat(&stat);
        }
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            s.resident_bytes = kib_field(&status, "VmRSS:").map(|k| k * 1024);
            s.virtual_bytes = kib_field(&status, "VmSize:").map(|k| k * 1024);
        }
        s.open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as u64);
        s
    }

    fn parse_stat(&mut self, stat: &str) {
        // The command name in parentheses may hold spaces; fields count from after it.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `rest` starts at field 3 (state): utime is field 14, stime 15, num_threads 20.
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        if let (Some(user), Some(system)) = (field(14), field(15)) {
            self.cpu_seconds = Some((user + system) as f64 / TICKS_PER_SEC);
        }
        self.threads = field(20);
    }
}

fn kib_field(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// How often the lag probe asks to be woken.
const LAG_TICK: Duration = Duration::from_millis(100);

/// Sleeps 100 ms in a loop and records how late each wake-up was: a
/// blocked or overloaded executor shows as lag. Runs until aborted.
pub async fn watch_event_loop(metrics: Arc<Metrics>) {
    loop {
        let asked = Instant::now();
        tokio::time::sleep(LAG_TICK).await;
        metrics.loop_lag(asked.elapsed().saturating_sub(LAG_TICK));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_and_status_lines_are_parsed_even_with_spaces_in_the_name() {
        let mut s = ProcessStats::default();
        s.parse_stat(
            "4242 (vox host) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 7 0 12345 \
             123456789 2000 18446744073709551615",
        );
        assert_eq!(s.cpu_seconds, Some(3.0));
        assert_eq!(s.threads, Some(7));
        let status = "Name:\tvox-host\nVmSize:\t  123456 kB\nVmRSS:\t    2048 kB\n";
        assert_eq!(kib_field(status, "VmRSS:"), Some(2048));
        assert_eq!(kib_field(status, "VmSize:"), Some(123_456));
        assert_eq!(kib_field(status, "VmSwap:"), None);
    }

    #[test]
    fn this_process_is_readable_on_linux() {
        let s = ProcessStats::read();
        if cfg!(target_os = "linux") {
            assert!(s.resident_bytes.is_some_and(|b| b > 0), "{s:?}");
            assert!(s.cpu_seconds.is_some(), "{s:?}");
            assert!(s.threads.is_some_and(|t| t >= 1), "{s:?}");
            assert!(s.open_fds.is_some_and(|n| n >= 3), "{s:?}");
        }
    }
}
