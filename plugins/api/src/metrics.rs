//! What a plugin shows on the host's Prometheus `/metrics` page: counters,
//! gauges and histograms the plugin keeps itself (atomics), read by the host
//! on each scrape.

use std::sync::atomic::{AtomicU64, Ordering};

/// Whether a [`Sample`] only grows, goes up and down, or counts observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    /// Grows from zero since the process started; the host adds `_total`.
    Counter,
    /// A current value.
    Gauge,
    /// Observations in buckets ([`Sample::buckets`]); the host writes
    /// `_bucket`, `_sum` and `_count`.
    Histogram,
}

/// One value of a plugin's metrics at the moment of a scrape.
///
/// The host names it `<plugin id>_<name>` (plus `_total` for counters), so two
/// plugins never collide; samples sharing a name form one family and differ in
/// their labels.
///
/// ```
/// use vox_plugin::metrics::Sample;
///
/// let ok = Sample::counter("actions", "Actions done, by outcome", 41).labels(&[("outcome", "ok")]);
/// let depth = Sample::gauge("queue_depth", "Jobs waiting", 3);
/// assert_eq!(ok.labels, [("outcome", "ok")]);
/// assert_eq!(depth.value, 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Lower-case `snake_case`, without the plugin id and without `_total`.
    pub name: &'static str,
    /// One sentence for the `# HELP` line, without a final period (the encoder
    /// adds one); the first sample of a family gives it.
    pub help: &'static str,
    /// Counter, gauge or histogram.
    pub kind: SampleKind,
    /// Label pairs (`[("outcome", "ok")]`); empty for a plain value.
    pub labels: Vec<(&'static str, &'static str)>,
    /// The value now (a histogram's: its count).
    pub value: u64,
    /// A histogram's buckets, sum and count; `None` for the other kinds.
    pub buckets: Option<Buckets>,
}

impl Sample {
    /// A counter.
    pub const fn counter(name: &'static str, help: &'static str, value: u64) -> Self {
        Self { name, help, kind: SampleKind::Counter, labels: Vec::new(), value, buckets: None }
    }

    /// A gauge.
    pub const fn gauge(name: &'static str, help: &'static str, value: u64) -> Self {
        Self { name, help, kind: SampleKind::Gauge, labels: Vec::new(), value, buckets: None }
    }

    /// What `histogram` holds now.
    ///
    /// ```
    /// use vox_plugin::metrics::{Histogram, Sample};
    ///
    /// static BOUNDS: [f64; 3] = [0.1, 1.0, 10.0];
    /// let took = Histogram::new(&BOUNDS);
    /// took.observe(0.5);
    /// took.observe(20.0);
    /// let sample = Sample::histogram("took_seconds", "How long it took", &took);
    /// let buckets = sample.buckets.expect("a histogram");
    /// assert_eq!(buckets.counts, [0, 1, 0, 1], "per bucket, the last one above every bound");
    /// assert_eq!((buckets.count, buckets.sum), (2, 20.5));
    /// ```
    pub fn histogram(name: &'static str, help: &'static str, histogram: &Histogram) -> Self {
        let buckets = histogram.snapshot();
        Self {
            name,
            help,
            kind: SampleKind::Histogram,
            labels: Vec::new(),
            value: buckets.count,
            buckets: Some(buckets),
        }
    }

    /// The same sample with these labels added.
    pub fn labels(mut self, labels: &[(&'static str, &'static str)]) -> Self {
        self.labels.extend_from_slice(labels);
        self
    }
}

/// A histogram's state at a scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    /// The buckets' upper bounds, ascending.
    pub bounds: &'static [f64],
    /// Observations per bucket (not cumulative): one per bound, then the
    /// ones above every bound.
    pub counts: Vec<u64>,
    /// The sum of the observations.
    pub sum: f64,
    /// How many observations.
    pub count: u64,
}

/// Observations counted in fixed buckets, with their sum: lock-free, cheap
/// enough for every update.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// One per bound, plus the bucket above them all.
    counts: Box<[AtomicU64]>,
    /// The sum's bits (an `f64` updated by compare-and-swap).
    sum: AtomicU64,
    /// The largest observation's bits, for a "max" readout.
    max: AtomicU64,
}

impl Histogram {
    /// A histogram with these upper bounds (ascending).
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
            max: AtomicU64::new(0f64.to_bits()),
        }
    }

    /// Counts one observation.
    pub fn observe(&self, value: f64) {
        let bucket = self.bounds.iter().position(|b| value <= *b).unwrap_or(self.bounds.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let _ = self.sum.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
            Some((f64::from_bits(bits) + value).to_bits())
        });
        let _ = self.max.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
            (value > f64::from_bits(bits)).then(|| value.to_bits())
        });
    }

    /// How many observations so far.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The largest observation so far (0 before the first).
    pub fn max(&self) -> f64 {
        f64::from_bits(self.max.load(Ordering::Relaxed))
    }

    /// The buckets, sum and count now.
    pub fn snapshot(&self) -> Buckets {
        let counts: Vec<u64> = self.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        Buckets {
            bounds: self.bounds,
            count: counts.iter().sum(),
            counts,
            sum: f64::from_bits(self.sum.load(Ordering::Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_their_buckets_from_many_threads() {
        static BOUNDS: [f64; 2] = [1.0, 2.0];
        let h = Histogram::new(&BOUNDS);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for v in [0.5, 1.0, 1.5, 3.0] {
                        h.observe(v);
                    }
                });
            }
        });
        let b = h.snapshot();
        assert_eq!(b.counts, [8, 4, 4]);
        assert_eq!(b.count, 16);
        assert_eq!(b.sum, 24.0);
        assert_eq!(h.max(), 3.0);
    }
}
