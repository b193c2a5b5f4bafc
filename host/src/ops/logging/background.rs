//! Log lines leave the update path into one shared buffer that a writer
//! thread drains: an executor thread never blocks on stderr, and a line costs
//! its sender one short lock and a copy — no allocation, and no wake-up while
//! the writer is awake — and lines that arrive together go out in one write.
//!
//! (The first version sent each line as a `Vec` through a channel: one
//! allocation per line on an executor thread, freed on the writer's, which
//! glibc's malloc pays for across its arenas.)

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// Bytes waiting for the writer; past this, logging waits (no line is dropped).
const MAX_PENDING: usize = 4 * 1024 * 1024;
/// What the writer's buffer starts with, and keeps after a burst.
const BATCH_BYTES: usize = 64 * 1024;
/// After a look the writer rests this long: lines queued meanwhile cost their
/// senders no wake-up, and go out together.
const REST: Duration = Duration::from_millis(5);
/// Empty looks in a row (100 ms) before the writer sleeps until a line wakes it:
/// a quiet host's line is written at once, a busy host's within `REST`.
const IDLE_AFTER: u32 = 20;

#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    /// The writer sleeps until woken (set by it, cleared by whoever wakes it).
    asleep: bool,
    /// The guard asked the writer to write what is left and stop.
    stop: bool,
    /// The writer has stopped: lines go to stderr directly.
    gone: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// The writer waits here while asleep.
    wake: Condvar,
    /// Senders wait here while the buffer is full.
    drained: Condvar,
    max_pending: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves plain bytes behind: still usable.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Where the subscriber's lines go: the writer thread's buffer.
#[derive(Clone)]
pub struct Background {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background").finish_non_exhaustive()
    }
}

/// Writes what is still buffered and stops the writer thread when dropped:
/// hold it until the process ends, so the last lines (the shutdown) are written.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogGuard").finish_non_exhaustive()
    }
}

impl Background {
    /// Starts the writer thread over `out` (stderr in production).
    pub fn start(out: impl Write + Send + 'static) -> io::Result<(Self, LogGuard)> {
        Self::start_with(out, MAX_PENDING)
    }

    fn start_with(out: impl Write + Send + 'static, max_pending: usize) -> io::Result<(Self, LogGuard)> {
        let shared = Arc::new(Shared { max_pending, ..Shared::default() });
        let writer = Arc::clone(&shared);
        let thread =
            std::thread::Builder::new().name("vox-log".into()).spawn(move || write_loop(&writer, out))?;
        Ok((Self { shared: Arc::clone(&shared) }, LogGuard { shared, thread: Some(thread) }))
    }
}

fn write_loop(shared: &Shared, mut out: impl Write) {
    let mut batch: Vec<u8> = Vec::with_capacity(BATCH_BYTES);
    let mut empty_looks = 0;
    loop {
        {
            let mut pending = shared.lock();
            if pending.buf.is_empty() {
                if pending.stop {
                    pending.gone = true;
                    shared.drained.notify_all();
                    return;
                }
                empty_looks += 1;
                if empty_looks >= IDLE_AFTER {
                    pending.asleep = true;
                    while pending.asleep && !pending.stop {
                        pending = shared.wake.wait(pending).unwrap_or_else(|p| p.into_inner());
                    }
                    empty_looks = 0;
                    continue;
                }
            } else {
                // The senders get the empty buffer (its capacity kept) and go on at once.
                std::mem::swap(&mut pending.buf, &mut batch);
                shared.drained.notify_all();
                empty_looks = 0;
            }
        }
        if !batch.is_empty() {
            // Nowhere to report a failed log write; the stock formatter drops it too.
            let _ = out.write_all(&batch);
            let _ = out.flush();
            batch.clear();
            if batch.capacity() > 16 * BATCH_BYTES {
                // A burst of huge lines must not pin that memory for good.
                batch = Vec::with_capacity(BATCH_BYTES);
            }
        }
        std::thread::sleep(REST);
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        {
            let mut pending = self.shared.lock();
            pending.stop = true;
            pending.asleep = false;
        }
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One event's line (the formatters write each line whole, once).
pub struct LineWriter<'a> {
    shared: &'a Shared,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        if line.is_empty() {
            return Ok(0);
        }
        let shared = self.shared;
        let mut pending = shared.lock();
        // A full buffer waits for the writer rather than dropping a line.
        while !pending.gone && !pending.buf.is_empty() && pending.buf.len() + line.len() > shared.max_pending
        {
            pending = shared.drained.wait(pending).unwrap_or_else(|p| p.into_inner());
        }
        if pending.gone {
            // The writer has stopped (the process is ending): write directly.
            drop(pending);
            io::stderr().write_all(line)?;
            return Ok(line.len());
        }
        pending.buf.extend_from_slice(line);
        if pending.asleep {
            pending.asleep = false;
            drop(pending);
            shared.wake.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Background {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter { shared: &self.shared }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Out(Arc<Mutex<Vec<u8>>>);

    impl Write for Out {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn written(out: &Out) -> Vec<String> {
        let text = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf-8");
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn every_line_is_written_in_order_and_dropping_the_guard_flushes() {
        let out = Out::default();
        let (bg, guard) = Background::start(out.clone()).expect("thread");
        for i in 0..1000 {
            bg.make_writer().write_all(format!("line {i}\n").as_bytes()).expect("write");
        }
        drop(guard);
        let lines = written(&out);
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[0], "line 0");
        assert_eq!(lines[999], "line 999");
        // After the writer stopped, lines still go somewhere (stderr) instead of blocking.
        bg.make_writer().write_all(b"late line\n").expect("late write");
    }

    #[test]
    fn a_full_buffer_makes_senders_wait_and_loses_nothing() {
        let out = Out::default();
        // Room for about three lines: the senders outrun the writer's rests.
        let (bg, guard) = Background::start_with(out.clone(), 32).expect("thread");
        let senders: Vec<_> = (0..2)
            .map(|t| {
                let bg = bg.clone();
                std::thread::spawn(move || {
                    for i in 0..200 {
                        bg.make_writer().write_all(format!("t{t} {i:03}\n").as_bytes()).expect("write");
                    }
                })
            })
            .collect();
        for s in senders {
            s.join().expect("sender");
        }
        drop(guard);
        let lines = written(&out);
        assert_eq!(lines.len(), 400);
        for t in 0..2 {
            let mine: Vec<&String> = lines.iter().filter(|l| l.starts_with(&format!("t{t} "))).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "each sender's lines in order");
        }
    }

    #[test]
    fn a_quiet_writer_is_woken_by_the_next_line() {
        let out = Out::default();
        let (bg, guard) = Background::start(out.clone()).expect("thread");
        // Long enough for the writer to fall asleep.
        std::thread::sleep(REST * (IDLE_AFTER + 10));
        bg.make_writer().write_all(b"after a quiet while\n").expect("write");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while written(&out).is_empty() {
            assert!(std::time::Instant::now() < deadline, "the line was not written while the guard lives");
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(guard);
        assert_eq!(written(&out), ["after a quiet while"]);
    }
}
