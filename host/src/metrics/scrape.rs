//! Values read at scrape time: each subsystem implements [`Collect`] for the
//! state it owns (the live config's writer, served counts, the plugins' own
//! samples, the process and Telegram's reachability), the composition root
//! registers them, and [`render`] writes the `/metrics` page — the families the
//! update path feeds, then every collector's figures. No function here reads
//! another subsystem's state.

use std::fmt::Write;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::Metrics;

type Labels = Vec<(String, String)>;

/// The kind of a scraped family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (`_total` is appended).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in buckets (`_bucket`, `_sum`, `_count`).
    Histogram,
}

/// One series' value.
#[derive(Debug)]
enum Value {
    Number(f64),
    /// Per-bucket counts with their upper bounds (the last infinite: +Inf).
    Histogram {
        sum: f64,
        count: u64,
        buckets: Vec<(f64, u64)>,
    },
}

/// One metric family read at scrape time.
#[derive(Debug)]
struct Family {
    name: String,
    help: String,
    kind: Kind,
    series: Vec<(Labels, Value)>,
}

/// What the collectors report in one scrape, encoded after the live families.
#[derive(Debug, Default)]
pub struct Scraped(Vec<Family>);

impl Scraped {
    /// Adds a series to family `name` (created with `help` and `kind` on first use).
    /// A family already there with another kind keeps its kind; the series is dropped.
    pub fn series(
        &mut self,
        name: impl Into<String>,
        help: &str,
        kind: Kind,
        labels: &[(&str, &str)],
        value: f64,
    ) {
        self.push(name.into(), help, kind, labels, Value::Number(value));
    }

    /// Adds a histogram series to family `name`: `counts` per bucket (not
    /// cumulative), one per bound in `bounds` and then the one above them all.
    pub fn histogram(
        &mut self,
        name: impl Into<String>,
        help: &str,
        labels: &[(&str, &str)],
        bounds: &[f64],
        counts: &[u64],
        sum: f64,
    ) {
        let buckets = bounds.iter().copied().chain([f64::INFINITY]).zip(counts.iter().copied()).collect();
        let value = Value::Histogram { sum, count: counts.iter().sum(), buckets };
        self.push(name.into(), help, Kind::Histogram, labels, value);
    }

    fn push(&mut self, name: String, help: &str, kind: Kind, labels: &[(&str, &str)], value: Value) {
        let family = match self.0.iter().position(|f| f.name == name) {
            Some(i) => &mut self.0[i],
            None => {
                self.0.push(Family { name, help: help.to_owned(), kind, series: Vec::new() });
                let last = self.0.len() - 1;
                &mut self.0[last]
            }
        };
        if family.kind == kind {
            let labels = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            family.series.push((labels, value));
        }
    }

    /// A family of one series without labels.
    pub fn one(&mut self, name: &str, help: &str, kind: Kind, value: f64) {
        self.series(name, help, kind, &[], value);
    }

    /// [`Scraped::one`] when the value is known.
    pub fn maybe(&mut self, name: &str, help: &str, kind: Kind, value: Option<f64>) {
        if let Some(v) = value {
            self.one(name, help, kind, v);
        }
    }
}

impl Collector for Scraped {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in &self.0 {
            let kind = match f.kind {
                Kind::Counter => MetricType::Counter,
                Kind::Gauge => MetricType::Gauge,
                Kind::Histogram => MetricType::Histogram,
            };
            let mut metric = encoder.encode_descriptor(&f.name, &f.help, None, kind)?;
            for (labels, value) in &f.series {
                let mut series = metric.encode_family(labels)?;
                let value = match value {
                    Value::Number(v) => *v,
                    Value::Histogram { sum, count, buckets } => {
                        series.encode_histogram::<Labels>(*sum, *count, buckets, None)?;
                        continue;
                    }
                };
                // Whole numbers print as integers ("3", not "3.0").
                let whole = value.fract() == 0.0 && value.abs() < 9.0e15;
                match (f.kind, whole) {
                    (Kind::Counter, true) => ConstCounter::new(value as u64).encode(series)?,
                    (Kind::Counter, false) => ConstCounter::new(value).encode(series)?,
                    (_, true) => ConstGauge::new(value as i64).encode(series)?,
                    (_, false) => ConstGauge::new(value).encode(series)?,
                }
            }
        }
        Ok(())
    }
}

/// A subsystem's figures, read at scrape time (off the executor: it may block).
pub trait Collect: Send + Sync {
    /// Adds this subsystem's families to `out`.
    fn collect(&self, out: &mut Scraped);
}

/// The whole `/metrics` page in Prometheus text format 0.0.4. Blocking
/// (collectors may read `/proc`): call it off the executor.
pub fn render(
    metrics: &Metrics,
    collectors: &[std::sync::Arc<dyn Collect>],
) -> Result<String, std::fmt::Error> {
    let mut out = String::with_capacity(16 * 1024);
    prometheus_client::encoding::prometheus_text::encode(&mut out, metrics.registry())?;
    let mut scraped = Scraped::default();
    for c in collectors {
        c.collect(&mut scraped);
    }
    let mut registry = Registry::default();
    registry.register_collector(Box::new(scraped));
    let mut rest = String::with_capacity(8 * 1024);
    prometheus_client::encoding::prometheus_text::encode(&mut rest, &registry)?;
    out.write_str(&rest)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Two;

    impl Collect for Two {
        fn collect(&self, out: &mut Scraped) {
            out.series("p_actions", "Actions", Kind::Counter, &[("outcome", "ok")], 3.0);
            out.series("p_actions", "Actions", Kind::Counter, &[("outcome", "failed")], 1.0);
            out.series("p_actions", "Actions", Kind::Gauge, &[], 9.0);
            out.one("p_open", "Open now", Kind::Gauge, 2.0);
        }
    }

    #[test]
    fn collectors_are_grouped_by_family_and_encoded_after_the_live_families() {
        let out = render(&Metrics::default(), &[std::sync::Arc::new(Two)]).expect("encodes");
        assert!(out.contains("# TYPE p_actions_total counter\n"), "{out}");
        assert!(out.contains("p_actions_total{outcome=\"ok\"} 3\n"), "{out}");
        assert!(out.contains("p_actions_total{outcome=\"failed\"} 1\n"), "{out}");
        assert!(!out.contains("p_actions_total 9"), "a series of another kind is dropped: {out}");
        assert!(out.contains("# TYPE p_open gauge\np_open 2\n"), "{out}");
        assert_eq!(out.matches("# HELP p_actions_total").count(), 1, "{out}");
        assert!(out.find("vox_event_loop_lag_seconds") < out.find("p_open"), "{out}");
    }
}
