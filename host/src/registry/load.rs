//! Loading the linked plugins: their manifests into the [`Registry`], their
//! `[plugins.<id>]` sections into host settings and typed plugin configs.

use std::collections::BTreeMap;
use std::sync::Arc;

use vox_plugin::host::Registration;
use vox_plugin::metrics::{Sample, SampleKind};
use vox_plugin::{Manifest, Plugin, Setup};

use crate::metrics::{Collect, Kind, Scraped};

use crate::error::StartError;
use crate::registry::Registry;
use crate::rollout::config::take_policy;
use crate::rollout::policy::Policy;

/// Keys of a plugin section that the host reads itself.
pub const HOST_KEYS: &[&str] = &["enabled", "version", "versions", "rollout"];

/// A plugin's section, checked without building anything: what the
/// operator's commands and config reload see.
pub struct CheckedPlugin {
    /// Its declaration.
    pub manifest: &'static Manifest,
    /// Its constructor, config check and live-change hook.
    pub registration: &'static Registration,
    /// `enabled = false` switches it off: its buttons and commands answer
    /// "Раздел временно недоступен".
    pub enabled: bool,
    /// Which version serves whom: enabled versions, the configured one, a canary.
    pub policy: Policy,
    /// The plugin's own keys (the section without the host's keys), as checked.
    pub section: serde_json::Value,
}

/// Every linked plugin's section checked, in the registry's order.
pub struct Checked {
    /// Validated routes.
    pub registry: Arc<Registry>,
    /// Plugin `i` is the registry's manifest `i`.
    pub plugins: Vec<CheckedPlugin>,
}

/// A plugin built from its config: what serves updates.
pub struct LoadedPlugin {
    /// Its declaration.
    pub manifest: &'static Manifest,
    /// Its constructor, config check and live-change hook.
    pub registration: &'static Registration,
    /// Its behaviour.
    pub plugin: Box<dyn Plugin>,
}

/// The checked sections and the built plugins, in the registry's order.
pub struct Loaded {
    /// Validated routes.
    pub registry: Arc<Registry>,
    /// The sections as checked (the live config starts from them).
    pub checked: Vec<CheckedPlugin>,
    /// Plugin `i` is the registry's manifest `i`.
    pub plugins: Vec<LoadedPlugin>,
}

/// Every plugin linked into this binary.
pub fn linked() -> Vec<&'static Registration> {
    vox_plugin::host::registrations().collect()
}

/// Validates the registry and every section — host keys and each plugin's own
/// typed config — with no side effects: nothing is built, no file is touched.
/// Reports every problem found, each naming its plugin or key.
pub fn check(
    registrations: &[&'static Registration],
    sections: &BTreeMap<String, serde_json::Value>,
    setup: &Setup,
) -> Result<Checked, StartError> {
    let registry = Registry::build(registrations.iter().map(|r| r.manifest)).map_err(StartError::Registry)?;
    let mut errors = Vec::new();

    for id in sections.keys() {
        if registry.index_of(id).is_none() {
            let linked: Vec<&str> = registry.manifests().iter().map(|m| m.id).collect();
            errors.push(format!(
                "`plugins.{id}`: no plugin with id `{id}` is linked into this binary (linked: {}). \
                 Link its crate in bot/src/main.rs (`use <crate> as _;`) or remove the section.",
                linked.join(", ")
            ));
        }
    }

    let empty = serde_json::Value::Object(serde_json::Map::new());
    let mut plugins = Vec::with_capacity(registry.manifests().len());
    for manifest in registry.manifests() {
        let Some(registration) = registrations.iter().find(|r| r.manifest.id == manifest.id) else {
            continue;
        };
        if let Some(e) = unhandled_versions(registration) {
            errors.push(e);
        }
        let mut section = sections.get(manifest.id).unwrap_or(&empty).clone();
        let (enabled, policy) = match host_keys(manifest, &mut section) {
            Ok(keys) => keys,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match (registration.validate)(&section, setup) {
            Ok(()) => plugins.push(CheckedPlugin { manifest, registration, enabled, policy, section }),
            Err(e) => errors.push(e.to_string()),
        }
    }

    if errors.is_empty() {
        Ok(Checked { registry: Arc::new(registry), plugins })
    } else {
        Err(StartError::Plugins(errors))
    }
}

/// A versioned plugin whose code does not handle every declared version: a
/// start-up error naming them (a forgotten `v3` would otherwise be served by
/// whatever the code's catch-all does).
fn unhandled_versions(r: &Registration) -> Option<String> {
    let m = r.manifest;
    if m.versions.is_empty() {
        return None;
    }
    let Some(handles) = r.handles_version else {
        let declared: Vec<&str> = m.versions.iter().map(|v| v.name).collect();
        return Some(format!(
            "plugin `{}` declares versions ({}) but registers no `versions = …` type that handles them \
             (vox_plugin::register!(MANIFEST, build, versions = YourVersions))",
            m.id,
            declared.join(", ")
        ));
    };
    let missing: Vec<&str> = m.versions.iter().map(|v| v.name).filter(|v| !handles(v)).collect();
    (!missing.is_empty()).then(|| {
        format!(
            "plugin `{}` declares version(s) {} in its manifest, but its code does not handle them \
             (add them to its `Versions` type)",
            m.id,
            missing.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
        )
    })
}

/// [`check`], then builds each plugin from its checked section: what a serving
/// host does, once, at start.
pub fn load(
    registrations: &[&'static Registration],
    sections: &BTreeMap<String, serde_json::Value>,
    setup: &Setup,
) -> Result<Loaded, StartError> {
    let Checked { registry, plugins: checked } = check(registrations, sections, setup)?;
    let mut errors = Vec::new();
    let mut plugins = Vec::with_capacity(checked.len());
    for c in &checked {
        match (c.registration.build)(&c.section, setup) {
            Ok(plugin) => {
                plugins.push(LoadedPlugin { manifest: c.manifest, registration: c.registration, plugin })
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(Loaded { registry, checked, plugins })
    } else {
        Err(StartError::Plugins(errors))
    }
}

/// The plugins' own samples ([`Plugin::metrics`]), each named `<plugin id>_<name>`.
pub struct PluginSamples(pub Arc<[LoadedPlugin]>);

impl Collect for PluginSamples {
    fn collect(&self, out: &mut Scraped) {
        for p in self.0.iter() {
            plugin_samples(out, p.manifest.id, p.plugin.metrics());
        }
    }
}

fn plugin_samples(out: &mut Scraped, plugin: &str, samples: Vec<Sample>) {
    for s in samples {
        let name = format!("{plugin}_{}", s.name);
        let kind = match (s.kind, &s.buckets) {
            (SampleKind::Counter, _) => Kind::Counter,
            (SampleKind::Gauge, _) => Kind::Gauge,
            (SampleKind::Histogram, Some(b)) => {
                out.histogram(name, s.help, &s.labels, b.bounds, &b.counts, b.sum);
                continue;
            }
            // A histogram without buckets: nothing to show.
            (SampleKind::Histogram, None) => continue,
        };
        out.series(name, s.help, kind, &s.labels, s.value as f64);
    }
}

/// Takes the host's keys out of a section (the rest is the plugin's).
pub(crate) fn host_keys(
    manifest: &'static Manifest,
    section: &mut serde_json::Value,
) -> Result<(bool, Policy), String> {
    let id = manifest.id;
    let Some(map) = section.as_object_mut() else {
        return Err(format!("`plugins.{id}`: must be a table"));
    };
    let enabled = match map.remove("enabled") {
        None => true,
        Some(serde_json::Value::Bool(b)) => b,
        Some(other) => return Err(format!("`plugins.{id}.enabled`: expected true or false, found {other}")),
    };
    Ok((enabled, take_policy(manifest, map)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_samples_are_prefixed_grouped_and_encoded_as_counters_gauges_and_histograms() {
        let mut s = Scraped::default();
        plugin_samples(
            &mut s,
            "my_reports",
            vec![
                Sample::counter("actions", "Actions", 3).labels(&[("action", "view"), ("outcome", "ok")]),
                Sample::counter("actions", "Actions", 1).labels(&[("action", "view"), ("outcome", "failed")]),
                Sample::gauge("open_dialogues", "Dialogues now", 2),
                Sample::histogram("took_seconds", "Took", &{
                    static BOUNDS: [f64; 2] = [0.5, 1.0];
                    let h = vox_plugin::metrics::Histogram::new(&BOUNDS);
                    h.observe(0.25);
                    h.observe(0.75);
                    h.observe(3.0);
                    h
                })
                .labels(&[("version", "v2")]),
            ],
        );
        let mut r = prometheus_client::registry::Registry::default();
        r.register_collector(Box::new(s));
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &r).expect("encodes");
        assert!(out.contains("# TYPE my_reports_actions_total counter\n"), "{out}");
        assert!(out.contains("my_reports_actions_total{action=\"view\",outcome=\"ok\"} 3\n"), "{out}");
        assert!(out.contains("my_reports_actions_total{action=\"view\",outcome=\"failed\"} 1\n"), "{out}");
        assert!(
            out.contains("# TYPE my_reports_open_dialogues gauge\nmy_reports_open_dialogues 2\n"),
            "{out}"
        );
        assert_eq!(out.matches("# HELP my_reports_actions_total").count(), 1, "{out}");
        assert!(out.contains("# TYPE my_reports_took_seconds histogram\n"), "{out}");
        for line in [
            "my_reports_took_seconds_sum{version=\"v2\"} 4.0",
            "my_reports_took_seconds_count{version=\"v2\"} 3",
            "my_reports_took_seconds_bucket{version=\"v2\",le=\"0.5\"} 1",
            "my_reports_took_seconds_bucket{version=\"v2\",le=\"1\"} 2",
            "my_reports_took_seconds_bucket{version=\"v2\",le=\"+Inf\"} 3",
        ] {
            assert!(out.contains(line), "{line} in {out}");
        }
    }

    const THREE: Manifest = Manifest {
        versions: &[
            vox_plugin::Version::new("v1"),
            vox_plugin::Version::new("v2"),
            vox_plugin::Version::new("v3"),
        ],
        ..Manifest::new("three", "Three")
    };

    fn registration(handles_version: Option<fn(&str) -> bool>) -> Registration {
        Registration {
            manifest: &THREE,
            validate: |_, _| Ok(()),
            build: |_, _| Err(vox_plugin::ConfigError::new("plugins.three", "not built in this test")),
            reconfigure: None,
            handles_version,
            data_paths: |_, _| Ok(Vec::new()),
        }
    }

    #[test]
    fn a_declared_version_the_code_does_not_handle_stops_the_start_naming_it() {
        let two: fn(&str) -> bool = |v| v == "v1" || v == "v2";
        let err = unhandled_versions(&registration(Some(two))).expect("v3 is not handled");
        assert_eq!(
            err,
            "plugin `three` declares version(s) `v3` in its manifest, but its code does not handle them \
             (add them to its `Versions` type)"
        );
        let err = unhandled_versions(&registration(None)).expect("no Versions type");
        assert!(err.contains("declares versions (v1, v2, v3) but registers no `versions = …` type"), "{err}");
        let all: fn(&str) -> bool = |v| ["v1", "v2", "v3"].contains(&v);
        assert_eq!(unhandled_versions(&registration(Some(all))), None);
    }
}
