//! Log lines leave the update path through a channel to one writer thread: an
//! executor thread never blocks on stderr, and lines that arrive together under
//! load go out in one write instead of one system call each.

use std::io::{self, BufWriter, Write};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use tracing_subscriber::fmt::MakeWriter;

/// Lines waiting for the writer; past this, logging waits (no line is dropped).
const QUEUE_LINES: usize = 16 * 1024;
/// Bytes gathered before one write.
const BATCH_BYTES: usize = 64 * 1024;
/// After a batch the writer rests this long: lines queued meanwhile cost their
/// senders no wake-up, and go out together. Also the most a line waits when quiet.
const REST: std::time::Duration = std::time::Duration::from_millis(5);

/// Where the subscriber's lines go: the writer thread's queue.
#[derive(Clone, Debug)]
pub struct Background {
    tx: SyncSender<Vec<u8>>,
}

/// Flushes what is queued and stops the writer thread when dropped: hold it
/// until the process ends, so the last lines (the shutdown) are written.
#[must_use = "dropping the guard stops the log writer"]
#[derive(Debug)]
pub struct LogGuard {
    tx: SyncSender<Vec<u8>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Starts the writer thread over `out` (stderr in production).
    pub fn start(out: impl Write + Send + 'static) -> io::Result<(Self, LogGuard)> {
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(QUEUE_LINES);
        let thread = std::thread::Builder::new().name("vox-log".into()).spawn(move || write_loop(rx, out))?;
        Ok((Self { tx: tx.clone() }, LogGuard { tx, thread: Some(thread) }))
    }
}

fn write_loop(rx: Receiver<Vec<u8>>, out: impl Write) {
    let mut out = BufWriter::with_capacity(BATCH_BYTES, out);
    // An empty line is the guard's "flush and stop".
    while let Ok(line) = rx.recv() {
        let mut stop = line.is_empty();
        let _ = out.write_all(&line);
        while let Ok(more) = rx.try_recv() {
            stop |= more.is_empty();
            let _ = out.write_all(&more);
        }
        // Nothing more queued: this batch goes out now, so a quiet host's lines are not held back.
        let _ = out.flush();
        if stop {
            return;
        }
        std::thread::sleep(REST);
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        let _ = self.tx.send(Vec::new());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One event's line (the formatters write each line whole, once).
#[derive(Debug)]
pub struct LineWriter {
    tx: SyncSender<Vec<u8>>,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match self.tx.try_send(buf.to_vec()) {
            Ok(()) => {}
            // A full queue waits for the writer rather than dropping a line.
            Err(TrySendError::Full(line)) => {
                if let Err(mpsc::SendError(line)) = self.tx.send(line) {
                    io::stderr().write_all(&line)?;
                }
            }
            // The writer has stopped (the process is ending): write directly.
            Err(TrySendError::Disconnected(line)) => io::stderr().write_all(&line)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Background {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter { tx: self.tx.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_in_order_and_dropping_the_guard_flushes() {
        let out = Shared::default();
        let (bg, guard) = Background::start(out.clone()).expect("thread");
        for i in 0..1000 {
            bg.make_writer().write_all(format!("line {i}\n").as_bytes()).expect("write");
        }
        drop(guard);
        let text = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[0], "line 0");
        assert_eq!(lines[999], "line 999");
        // After the writer stopped, lines still go somewhere (stderr) instead of blocking.
        bg.make_writer().write_all(b"late line\n").expect("late write");
    }
}
