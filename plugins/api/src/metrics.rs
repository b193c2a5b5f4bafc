//! What a plugin shows on the host's Prometheus `/metrics` page: plain counters
//! and gauges the plugin keeps itself (atomics), read by the host on each scrape.

/// Whether a [`Sample`] only grows or goes up and down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    /// Grows from zero since the process started; the host adds `_total`.
    Counter,
    /// A current value.
    Gauge,
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
/// assert_eq!(ok.labels, &[("outcome", "ok")]);
/// assert_eq!(depth.value, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Lower-case `snake_case`, without the plugin id and without `_total`.
    pub name: &'static str,
    /// One sentence for the `# HELP` line, without a final period (the encoder
    /// adds one); the first sample of a family gives it.
    pub help: &'static str,
    /// Counter or gauge.
    pub kind: SampleKind,
    /// Label pairs (`[("outcome", "ok")]`); empty for a plain value.
    pub labels: &'static [(&'static str, &'static str)],
    /// The value now.
    pub value: u64,
}

impl Sample {
    /// A counter.
    pub const fn counter(name: &'static str, help: &'static str, value: u64) -> Self {
        Self { name, help, kind: SampleKind::Counter, labels: &[], value }
    }

    /// A gauge.
    pub const fn gauge(name: &'static str, help: &'static str, value: u64) -> Self {
        Self { name, help, kind: SampleKind::Gauge, labels: &[], value }
    }

    /// The same sample with these labels.
    pub const fn labels(mut self, labels: &'static [(&'static str, &'static str)]) -> Self {
        self.labels = labels;
        self
    }
}
