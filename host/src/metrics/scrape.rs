//! The `/metrics` page: the registry the update path feeds, then the values
//! read at scrape time — config reloads, rollout figures, plugins' own
//! counters, Telegram's reachability, the process.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use vox_plugin::metrics::{Sample, SampleKind};

use super::process::ProcessStats;
use crate::runtime::Runtime;

type Labels = Vec<(String, String)>;

/// One metric family read at scrape time.
#[derive(Debug)]
struct Family {
    name: String,
    help: String,
    kind: MetricType,
    series: Vec<(Labels, f64)>,
}

/// Everything read at scrape time, encoded as a collector.
#[derive(Debug, Default)]
struct Snapshot(Vec<Family>);

impl Snapshot {
    fn family(&mut self, name: impl Into<String>, help: &str, kind: MetricType) -> &mut Family {
        let name = name.into();
        if let Some(i) = self.0.iter().position(|f| f.name == name) {
            return &mut self.0[i];
        }
        self.0.push(Family { name, help: help.to_owned(), kind, series: Vec::new() });
        let last = self.0.len() - 1;
        &mut self.0[last]
    }

    fn one(&mut self, name: &str, help: &str, kind: MetricType, value: f64) {
        self.family(name, help, kind).series.push((Vec::new(), value));
    }

    fn maybe(&mut self, name: &str, help: &str, kind: MetricType, value: Option<f64>) {
        if let Some(v) = value {
            self.one(name, help, kind, v);
        }
    }
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in &self.0 {
            let mut metric = encoder.encode_descriptor(&f.name, &f.help, None, f.kind)?;
            for (labels, value) in &f.series {
                let series = metric.encode_family(labels)?;
                // Whole numbers print as integers ("3", not "3.0").
                let whole = value.fract() == 0.0 && value.abs() < 9.0e15;
                match (f.kind, whole) {
                    (MetricType::Counter, true) => ConstCounter::new(*value as u64).encode(series)?,
                    (MetricType::Counter, false) => ConstCounter::new(*value).encode(series)?,
                    (_, true) => ConstGauge::new(*value as i64).encode(series)?,
                    (_, false) => ConstGauge::new(*value).encode(series)?,
                }
            }
        }
        Ok(())
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// A plugin's samples, each named `<plugin id>_<name>`.
fn plugin_samples(snapshot: &mut Snapshot, plugin: &str, samples: Vec<Sample>) {
    for s in samples {
        let kind = match s.kind {
            SampleKind::Counter => MetricType::Counter,
            SampleKind::Gauge => MetricType::Gauge,
        };
        let family = snapshot.family(format!("{plugin}_{}", s.name), s.help, kind);
        if family.kind != kind {
            // Two samples of one name but different kinds: keep the first kind's.
            continue;
        }
        family.series.push((labels(s.labels), s.value as f64));
    }
}

fn read(runtime: &Runtime) -> Snapshot {
    let mut s = Snapshot::default();
    let version = env!("CARGO_PKG_VERSION");
    s.family("vox_build_info", "The running binary's version (value 1)", MetricType::Gauge)
        .series
        .push((labels(&[("version", version)]), 1.0));
    s.one(
        "vox_uptime_seconds",
        "Seconds since the host started",
        MetricType::Gauge,
        runtime.ops.uptime().as_secs_f64(),
    );

    let stats = runtime.reload_stats();
    s.one(
        "vox_config_generation",
        "The live config's generation: 1 at start, +1 per applied change",
        MetricType::Gauge,
        runtime.live().generation as f64,
    );
    s.one(
        "vox_config_reloads",
        "Config changes applied without a restart",
        MetricType::Counter,
        stats.applied.load(Ordering::Relaxed) as f64,
    );
    s.one(
        "vox_config_reload_failures",
        "Config changes refused (the running config was kept)",
        MetricType::Counter,
        stats.failed.load(Ordering::Relaxed) as f64,
    );
    s.one(
        "vox_rollout_automatic_rollbacks",
        "Candidates switched off by an automatic rollback trigger",
        MetricType::Counter,
        runtime.rollbacks() as f64,
    );
    for (idx, p) in runtime.plugins.iter().enumerate() {
        for c in runtime.served.counts(idx) {
            let l = labels(&[("plugin", p.manifest.id), ("version", c.version)]);
            s.family(
                "vox_rollout_served_users",
                "Distinct users each version served since start",
                MetricType::Gauge,
            )
            .series
            .push((l, c.users as f64));
        }
    }

    let failing = runtime.ops.reach.failing_for();
    s.one(
        "vox_telegram_reachable",
        "1 while the Bot API answers (getMe probe and long polls), 0 while it fails",
        MetricType::Gauge,
        if failing.is_none() { 1.0 } else { 0.0 },
    );
    s.one(
        "vox_telegram_failing_seconds",
        "How long the Bot API has been failing (0 when it answers)",
        MetricType::Gauge,
        failing.map_or(0.0, |d| d.as_secs_f64()),
    );

    for p in runtime.plugins.iter() {
        plugin_samples(&mut s, p.manifest.id, p.plugin.metrics());
    }

    let proc = ProcessStats::read();
    let start = runtime.ops.started_at.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).ok();
    s.maybe(
        "process_resident_memory_bytes",
        "Resident memory size in bytes",
        MetricType::Gauge,
        proc.resident_bytes.map(|b| b as f64),
    );
    s.maybe(
        "process_virtual_memory_bytes",
        "Virtual memory size in bytes",
        MetricType::Gauge,
        proc.virtual_bytes.map(|b| b as f64),
    );
    s.maybe(
        "process_cpu_seconds",
        "User and system CPU time spent, seconds",
        MetricType::Counter,
        proc.cpu_seconds,
    );
    s.maybe("process_open_fds", "Open file descriptors", MetricType::Gauge, proc.open_fds.map(|n| n as f64));
    s.maybe("process_threads", "OS threads", MetricType::Gauge, proc.threads.map(|n| n as f64));
    s.maybe(
        "process_start_time_seconds",
        "Start time of the process since the Unix epoch, seconds",
        MetricType::Gauge,
        start,
    );
    s
}

/// The whole `/metrics` page in Prometheus text format 0.0.4. Blocking (reads
/// `/proc`): call it off the executor.
pub fn render(runtime: &Runtime) -> Result<String, std::fmt::Error> {
    let mut out = String::with_capacity(16 * 1024);
    prometheus_client::encoding::prometheus_text::encode(&mut out, runtime.metrics().registry())?;
    let mut scraped = Registry::default();
    scraped.register_collector(Box::new(read(runtime)));
    let mut rest = String::with_capacity(8 * 1024);
    prometheus_client::encoding::prometheus_text::encode(&mut rest, &scraped)?;
    out.write_str(&rest)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_samples_are_prefixed_grouped_and_encoded_as_counters_and_gauges() {
        let mut s = Snapshot::default();
        plugin_samples(
            &mut s,
            "my_reports",
            vec![
                Sample::counter("actions", "Actions", 3).labels(&[("action", "view"), ("outcome", "ok")]),
                Sample::counter("actions", "Actions", 1).labels(&[("action", "view"), ("outcome", "failed")]),
                Sample::gauge("open_dialogues", "Dialogues now", 2),
            ],
        );
        let mut r = Registry::default();
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
    }
}
