//! The one writer under contention (an operator's edit racing an automatic
//! rollback) and config reload of plugins' own keys.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};

use vox_plugin::{
    ConfigError, Ctx, HandlerError, Manifest, Plugin, PluginConfig, Setup, Version, host::Registration,
};

use super::*;
use crate::config::Sources;

const CANARY: Manifest =
    Manifest { versions: &[Version::new("v1"), Version::new("v2")], ..Manifest::new("canary", "Canary") };
const FIXED: Manifest = Manifest::new("fixed", "Fixed");

/// `[plugins.canary] limit`: at least 10; taken live.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitConfig {
    #[serde(default = "ten")]
    limit: u32,
}

fn ten() -> u32 {
    10
}

impl PluginConfig for LimitConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.limit < 10 {
            return Err(ConfigError::new("limit", "must be at least 10"));
        }
        Ok(())
    }
}

struct Limited(AtomicU32);

impl Limited {
    fn new(c: LimitConfig, _: &Setup) -> Result<Self, ConfigError> {
        Ok(Self(AtomicU32::new(c.limit)))
    }
    fn reconfigure(&self, c: LimitConfig, _: &Setup) -> Result<(), ConfigError> {
        self.0.store(c.limit, Ordering::Relaxed);
        Ok(())
    }
}

#[vox_plugin::async_trait]
impl Plugin for Limited {
    async fn handle(&self, _: &mut Ctx) -> Result<(), HandlerError> {
        Ok(())
    }
}

static CANARY_REG: Registration = Registration {
    manifest: &CANARY,
    validate: |s, _| vox_plugin::__private::validate(&CANARY, s, Limited::new).map(|_| ()),
    build: |s, setup| vox_plugin::__private::build(&CANARY, s, setup, Limited::new),
    reconfigure: Some(|p, s, setup| {
        vox_plugin::__private::reconfigure(&CANARY, p, s, setup, Limited::reconfigure)
    }),
    handles_version: Some(|v| v == "v1" || v == "v2"),
    data_paths: |_, _| Ok(Vec::new()),
};

/// Same config type, but every change of its section needs a restart.
static FIXED_REG: Registration = Registration {
    manifest: &FIXED,
    validate: |s, _| vox_plugin::__private::validate(&FIXED, s, Limited::new).map(|_| ()),
    build: |s, setup| vox_plugin::__private::build(&FIXED, s, setup, Limited::new),
    reconfigure: None,
    handles_version: None,
    data_paths: |_, _| Ok(Vec::new()),
};

struct Fixture {
    dir: PathBuf,
    config: PathBuf,
    sources: Sources,
    writer: LiveWriter,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn canary_toml(percent: u32, limit: u32) -> String {
    format!(
        "[plugins.canary]\nlimit = {limit}\n[plugins.canary.rollout]\nstable = \"v1\"\ncandidate = \"v2\"\npercent = {percent}\n"
    )
}

fn fixture(name: &str, text: &str) -> Fixture {
    let dir = std::env::temp_dir().join(format!("vox-writer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("vox.toml");
    std::fs::write(&config, text).expect("config");
    let env = vec![("VOX__HOST__DATA_DIR".to_owned(), dir.join("data").display().to_string())];
    let sources = Sources::new(Some(config.clone()), env);
    let settings = sources.load().expect("valid config");
    let regs: &[&'static Registration] = &[&CANARY_REG, &FIXED_REG];
    let loaded = plugins::load(regs, &settings.plugins, &settings.setup()).expect("plugins");
    let checked = Checked { registry: loaded.registry, plugins: loaded.checked };
    let writer = LiveWriter::new(
        &checked,
        loaded.plugins.into(),
        WriterSetup {
            sources: Some(sources.clone()),
            setup: settings.setup(),
            overrides: overrides::Source::File(overrides::path(Some(&config), &settings.host.data_dir)),
            data_dir: settings.host.data_dir.clone(),
            stamp: Some(file_stamp(text)),
        },
    );
    Fixture { dir, config, sources, writer }
}

/// What (config file, override file) on disk say now.
fn expected(f: &Fixture) -> Vec<LivePlugin> {
    let settings = f.sources.load().expect("file valid");
    let regs: &[&'static Registration] = &[&CANARY_REG, &FIXED_REG];
    let checked = plugins::check(regs, &settings.plugins, &settings.setup()).expect("check");
    let mut plugins = LiveConfig::from_checked(&checked.plugins);
    LiveConfig::apply_overrides(&checked.registry, &mut plugins, &overrides::load(f.writer.override_path()));
    plugins
}

fn audit_generations(dir: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(dir.join("data").join(AUDIT_FILE)).unwrap_or_default();
    text.lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("audit line is JSON")["generation"].as_u64()
        })
        .map(|g| g.expect("generation"))
        .collect()
}

#[test]
fn an_operator_edit_racing_an_automatic_rollback_loses_neither() {
    let f = fixture("race", &canary_toml(0, 10));
    let idx = f.writer.registry.index_of("canary").expect("canary");
    for i in 1..=300u32 {
        let percent = i % 100 + 1;
        let text = canary_toml(percent, 10);
        let start = Arc::new(Barrier::new(2));
        let (f, text) = (&f, &text);
        std::thread::scope(|s| {
            let go = Arc::clone(&start);
            let operator = s.spawn(move || {
                go.wait();
                std::fs::write(&f.config, text).expect("edit");
                f.writer.reload()
            });
            start.wait();
            let tripped = f.writer.trip(idx, "race test").expect("trip writes its override");
            assert!(tripped, "iteration {i}: the candidate was live, so the trip acts");
            operator.join().expect("operator thread").expect("the edit is valid");
        });
        let live = f.writer.live().load();
        assert_eq!(live.plugins, expected(f), "iteration {i}: live = file + override");
        let rollout = live.plugin(idx).policy.rollout.as_ref().expect("rollout");
        assert_eq!(rollout.percent, f64::from(percent), "iteration {i}: the operator's edit is live");
        assert!(rollout.kill, "iteration {i}: the rollback is live");
        assert_eq!(live.stamp, Some(file_stamp(text)), "iteration {i}: the edited text is what is live");

        // The operator clears the override (as `rollout clear-override` does) and the watcher reloads.
        overrides::save(f.writer.override_path(), &Overrides::new()).expect("clear");
        f.writer.reload().expect("reload after clear");
        assert!(!f.writer.live().load().plugin(idx).policy.rollout.as_ref().expect("rollout").kill);
    }
    let generations = audit_generations(&f.dir);
    assert!(generations.windows(2).all(|w| w[0] < w[1]), "each generation once, in order: {generations:?}");
    assert_eq!(generations.last().copied(), Some(f.writer.live().load().generation));
}

#[test]
fn a_refused_edit_never_becomes_the_live_stamp() {
    let f = fixture("refused", &canary_toml(5, 10));
    let bad = canary_toml(150, 10);
    std::fs::write(&f.config, &bad).expect("edit");
    let err = f.writer.reload().expect_err("percent 150 is refused");
    assert!(err.contains("plugins.canary.rollout.percent"), "{err}");
    let live = f.writer.live().load();
    assert_ne!(live.stamp, Some(file_stamp(&bad)), "a confirmation would wait for this stamp in vain");
    assert_eq!(live.generation, 1);
}

#[test]
fn an_invalid_plugin_key_is_refused_naming_it_and_counted() {
    let f = fixture("invalid-key", &canary_toml(5, 10));
    std::fs::write(&f.config, canary_toml(5, 5)).expect("edit");
    let err = f.writer.reload().expect_err("limit 5 is refused");
    assert!(err.contains("`plugins.canary.limit`: must be at least 10"), "{err}");
    assert_eq!(f.writer.stats().failed.load(Ordering::Relaxed), 1);
    assert!(
        f.writer.stats().last_error.lock().expect("lock").as_deref().is_some_and(|e| e.contains("limit"))
    );
    let plugin = &f.writer.plugins[0].plugin;
    let any: &dyn std::any::Any = plugin.as_ref();
    assert_eq!(any.downcast_ref::<Limited>().expect("canary").0.load(Ordering::Relaxed), 10, "kept");
}

#[test]
fn a_valid_plugin_key_change_is_applied_live() {
    let f = fixture("live-key", &canary_toml(5, 10));
    std::fs::write(&f.config, canary_toml(5, 42)).expect("edit");
    assert_eq!(f.writer.reload(), Ok(Reloaded::Reconfigured));
    let any: &dyn std::any::Any = f.writer.plugins[0].plugin.as_ref();
    assert_eq!(any.downcast_ref::<Limited>().expect("canary").0.load(Ordering::Relaxed), 42);
    assert_eq!(f.writer.stats().applied.load(Ordering::Relaxed), 1);
}

#[test]
fn a_plugin_that_takes_no_live_change_refuses_it_naming_the_key() {
    let text = format!("{}[plugins.fixed]\nlimit = 20\n", canary_toml(5, 10));
    let f = fixture("restart", &text);
    std::fs::write(&f.config, format!("{}[plugins.fixed]\nlimit = 30\n", canary_toml(5, 42))).expect("edit");
    let err = f.writer.reload().expect_err("fixed needs a restart");
    assert_eq!(err, "needs a restart: `plugins.fixed.limit`");
    let any: &dyn std::any::Any = f.writer.plugins[0].plugin.as_ref();
    assert_eq!(
        any.downcast_ref::<Limited>().expect("canary").0.load(Ordering::Relaxed),
        10,
        "nothing half-applied"
    );
}

#[test]
fn a_change_that_cannot_be_audited_is_not_applied_and_plugins_keep_their_config() {
    let f = fixture("audit-fails", &canary_toml(5, 10));
    // A directory where the audit log should be: appending to it fails.
    std::fs::create_dir_all(f.dir.join("data").join(AUDIT_FILE)).expect("blocker");
    std::fs::write(&f.config, canary_toml(50, 42)).expect("edit");
    let err = f.writer.reload().expect_err("cannot be recorded");
    assert!(err.contains("audit log"), "{err}");
    let live = f.writer.live().load();
    assert_eq!(live.generation, 1);
    assert_eq!(live.plugins[0].policy.rollout.as_ref().expect("rollout").percent, 5.0);
    let any: &dyn std::any::Any = f.writer.plugins[0].plugin.as_ref();
    assert_eq!(any.downcast_ref::<Limited>().expect("canary").0.load(Ordering::Relaxed), 10, "given back");
    // Once the audit log can be written again, the same file applies.
    std::fs::remove_dir(f.dir.join("data").join(AUDIT_FILE)).expect("unblock");
    assert!(matches!(f.writer.reload(), Ok(Reloaded::Applied(2))));
    assert_eq!(any.downcast_ref::<Limited>().expect("canary").0.load(Ordering::Relaxed), 42);
}
