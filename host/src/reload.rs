//! Applying config changes without a restart: the config file (and the rollback
//! override beside it) is watched with inotify, re-read on SIGHUP, and checked
//! every second as a fallback (a stat; all debounced). A valid change is swapped
//! in whole and appended to the audit log; an invalid one is refused, logged with
//! its key and counted, and the running config stays.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::config::Settings;
use crate::live::{Live, LiveConfig};
use crate::registry::Registry;

/// How often the file's stamp is compared when no file event arrives (network
/// filesystems and some editors do not raise inotify events).
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// How long the file must stay unchanged before it is read (editors write in steps).
const DEBOUNCE: Duration = Duration::from_millis(100);
/// The audit log's file name inside `host.data_dir`.
pub const AUDIT_FILE: &str = "rollout-audit.jsonl";

/// What reloading has done so far, for status output and metrics.
#[derive(Debug, Default)]
pub struct ReloadStats {
    /// Changes applied.
    pub applied: AtomicU64,
    /// Files refused.
    pub failed: AtomicU64,
    /// The last refusal's message, until a later change applies.
    pub last_error: Mutex<Option<String>>,
}

/// Re-reads one config file into the live config.
pub struct Reloader {
    path: PathBuf,
    env: Vec<(String, String)>,
    registry: Arc<Registry>,
    live: Live,
    audit: PathBuf,
    stats: Arc<ReloadStats>,
    /// The file's stamp when it was read at start: a change made before the
    /// watcher's first look still counts as a change.
    initial: Option<(u64, SystemTime)>,
    /// Automatic rollbacks beside the config; watched too, so clearing one applies.
    overrides: PathBuf,
    /// The override file's stamp when the host read it at start (for the same reason).
    initial_overrides: Option<(u64, SystemTime)>,
}

/// The result of one reload.
#[derive(Debug, PartialEq, Eq)]
pub enum Reloaded {
    /// Applied as this generation.
    Applied(u64),
    /// Valid, but nothing live changed.
    Unchanged,
}

impl Reloader {
    /// A reloader of `path` (layered over the defaults and `env`, as at start).
    pub fn new(
        path: PathBuf,
        env: Vec<(String, String)>,
        registry: Arc<Registry>,
        live: Live,
        data_dir: &Path,
        stats: Arc<ReloadStats>,
    ) -> Self {
        let stamp_now =
            |p: &Path| std::fs::metadata(p).ok().and_then(|m| Some((m.len(), m.modified().ok()?)));
        let initial = stamp_now(&path);
        let overrides = crate::overrides::path(Some(&path), data_dir);
        let initial_overrides = stamp_now(&overrides);
        let audit = data_dir.join(AUDIT_FILE);
        Self { path, env, registry, live, audit, stats, initial, overrides, initial_overrides }
    }

    /// Reads the file and applies it if valid. Blocking: call off the executor.
    pub fn reload_blocking(&self) -> Result<Reloaded, String> {
        let result = self.try_reload();
        match &result {
            Ok(Reloaded::Applied(generation)) => {
                self.stats.applied.fetch_add(1, Ordering::Relaxed);
                *self.stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
                tracing::info!(generation, path = %self.path.display(), "config change applied");
            }
            Ok(Reloaded::Unchanged) => {
                *self.stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
            }
            Err(e) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                *self.stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
                tracing::error!(path = %self.path.display(), error = %e, "config change refused; the running config stays");
            }
        }
        result
    }

    fn try_reload(&self) -> Result<Reloaded, String> {
        let settings = Settings::load(Some(&self.path), self.env.clone()).map_err(|e| e.0)?;
        let mut plugins = LiveConfig::compile(&self.registry, &settings.plugins)?;
        LiveConfig::apply_overrides(&self.registry, &mut plugins, &crate::overrides::load(&self.overrides));
        let current = self.live.load();
        if plugins == current.plugins {
            return Ok(Reloaded::Unchanged);
        }
        let next = LiveConfig { generation: current.generation + 1, plugins };
        // Audit first: a change that cannot be recorded is not applied.
        append_audit(&self.audit, &self.registry, &current, &next, None)
            .map_err(|e| format!("audit log `{}`: {e}", self.audit.display()))?;
        let generation = next.generation;
        self.live.store(Arc::new(next));
        Ok(Reloaded::Applied(generation))
    }

    /// Watches the file until `shutdown` resolves.
    pub async fn watch(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut hangup = hangup_signal();
        let mut last = (self.initial, self.initial_overrides);
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
            let now = (stamp(&self.path).await, stamp(&self.overrides).await);
            if !forced && now == last {
                continue;
            }
            // Let the writer finish: read once the stamps hold still.
            let mut settled = now;
            loop {
                tokio::time::sleep(DEBOUNCE).await;
                let again = (stamp(&self.path).await, stamp(&self.overrides).await);
                if again == settled {
                    break;
                }
                settled = again;
            }
            last = settled;
            if forced {
                tracing::info!("SIGHUP: re-reading the config");
            }
            let this = Arc::clone(&self);
            if let Err(e) = tokio::task::spawn_blocking(move || this.reload_blocking()).await {
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

/// Appends one JSON line per plugin whose live settings changed (time,
/// generation, old, new, and what caused it when not a config edit).
pub fn append_audit(
    audit: &Path,
    registry: &Registry,
    old: &LiveConfig,
    new: &LiveConfig,
    cause: Option<&str>,
) -> std::io::Result<()> {
    if let Some(dir) = audit.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut lines = String::new();
    for (i, manifest) in registry.manifests().iter().enumerate() {
        let (before, after) = (&old.plugins[i], &new.plugins[i]);
        if before == after {
            continue;
        }
        let line = serde_json::json!({
            "time": time,
            "generation": new.generation,
            "plugin": manifest.id,
            "cause": cause.unwrap_or("config"),
            "old": before.describe(),
            "new": after.describe(),
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(audit)?;
    file.write_all(lines.as_bytes())?;
    file.sync_data()
}
