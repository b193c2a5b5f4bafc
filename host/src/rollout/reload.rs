//! Applying config changes without a restart: the config file (and the rollback
//! override beside it) is watched with inotify, re-read on SIGHUP, and checked
//! every second as a fallback (a stat; all debounced); with shared overrides
//! (Redis) their generation is read every second too. A valid change is swapped
//! in whole and appended to the audit log; an invalid one is refused, logged with
//! its key and counted, and the running config stays.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::rollout::overrides::Source;
use crate::rollout::writer::LiveWriter;

/// How often the file's stamp is compared when no file event arrives (network
/// filesystems and some editors do not raise inotify events).
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// How long the file must stay unchanged before it is read (editors write in steps).
const DEBOUNCE: Duration = Duration::from_millis(100);

/// Watches one config file (and the override file beside it) and hands every
/// settled change to the live config's writer.
pub struct Reloader {
    writer: Arc<LiveWriter>,
    path: PathBuf,
    /// The file's stamp when it was read at start: a change made before the
    /// watcher's first look still counts as a change.
    initial: Option<(u64, SystemTime)>,
    /// Automatic rollbacks beside the config; watched too, so clearing one applies.
    overrides: PathBuf,
    /// The override file's stamp when the host read it at start (for the same reason).
    initial_overrides: Option<(u64, SystemTime)>,
    /// Where the overrides are kept; when shared, its generation is watched too
    /// (another replica's automatic rollback moves it).
    source: Source,
    initial_generation: Option<u64>,
}

impl Reloader {
    /// A reloader of the writer's config file; `None` when no file is watched.
    pub fn new(writer: Arc<LiveWriter>) -> Option<Self> {
        let stamp_now =
            |p: &Path| std::fs::metadata(p).ok().and_then(|m| Some((m.len(), m.modified().ok()?)));
        let path = writer.config_path()?.to_owned();
        let overrides = writer.override_path().to_owned();
        let (initial, initial_overrides) = (stamp_now(&path), stamp_now(&overrides));
        let source = writer.overrides().clone();
        let initial_generation = source.generation();
        Some(Self { writer, path, initial, overrides, initial_overrides, source, initial_generation })
    }

    /// The shared overrides' generation (`None` for a file source).
    async fn generation(&self) -> Option<u64> {
        match &self.source {
            Source::File(_) => None,
            Source::Shared(_) => {
                let source = self.source.clone();
                tokio::task::spawn_blocking(move || source.generation()).await.ok().flatten()
            }
        }
    }

    /// Watches the file until `shutdown` resolves.
    pub async fn watch(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut hangup = hangup_signal();
        let mut last = (self.initial, self.initial_overrides, self.initial_generation);
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel::<()>();
        // Held for the loop's lifetime: dropping the watcher stops the events.
        let _watcher = self.file_watcher(events_tx);
        loop {
            let forced = tokio::select! {
                _ = &mut shutdown => return,
                _ = tick.tick() => false,
                Some(()) = events.recv() => false,
                _ = recv(&mut hangup) => true,
            };
            let mut now = (stamp(&self.path).await, stamp(&self.overrides).await, self.generation().await);
            if now.2.is_none() {
                // Redis did not answer: not a change.
                now.2 = last.2;
            }
            if !forced && now == last {
                continue;
            }
            // Let the writer finish: read once the stamps hold still.
            let mut settled = now;
            loop {
                tokio::time::sleep(DEBOUNCE).await;
                let again = (stamp(&self.path).await, stamp(&self.overrides).await, settled.2);
                if again == settled {
                    break;
                }
                settled = again;
            }
            last = settled;
            if forced {
                tracing::info!("SIGHUP: re-reading the config");
            }
            let writer = Arc::clone(&self.writer);
            if let Err(e) = tokio::task::spawn_blocking(move || writer.reload()).await {
                tracing::error!(error = %e, "config reload task failed");
            }
        }
    }
}

/// (length, modification time) of the file, or `None` while it is missing.
async fn stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let m = tokio::fs::metadata(path).await.ok()?;
    Some((m.len(), m.modified().ok()?))
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}
#[cfg(not(unix))]
fn hangup_signal() -> Hangup {
    None
}

#[cfg(unix)]
async fn recv(h: &mut Hangup) {
    match h {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}
#[cfg(not(unix))]
async fn recv(_: &mut Hangup) {
    std::future::pending().await
}

impl Reloader {
    /// An inotify watch on the config's directory that wakes the loop on any
    /// event touching the config or the override file; `None` (logged) when the
    /// platform cannot watch, and the periodic check carries on alone.
    fn file_watcher(
        &self,
        wake: tokio::sync::mpsc::UnboundedSender<()>,
    ) -> Option<notify::RecommendedWatcher> {
        use notify::Watcher;
        let names: Vec<std::ffi::OsString> = [&self.path, &self.overrides]
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_owned()))
            .collect();
        let handler = move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event {
                let ours =
                    event.paths.iter().any(|p| p.file_name().is_some_and(|n| names.iter().any(|m| m == n)));
                if ours {
                    let _ = wake.send(());
                }
            }
        };
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let result = notify::recommended_watcher(handler)
            .and_then(|mut w| w.watch(&dir, notify::RecursiveMode::NonRecursive).map(|()| w));
        match result {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot watch the config directory; checking every second");
                None
            }
        }
    }
}
