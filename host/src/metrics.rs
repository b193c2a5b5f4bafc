//! The host's Prometheus metrics: what the update path counts as it goes
//! (cheap: labels are `&'static str`, no allocation once a series exists),
//! [`Collect`] for what subsystems report at scrape time, and [`render`], the
//! `/metrics` page. A floor-0 room: it imports no other room of the host.

mod hot;
pub mod process;
mod scrape;

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use hot::{Hot, SameLabels};

pub use process::watch_event_loop;
pub use scrape::{Collect, Kind, Scraped, render};

/// Label value for "no version" (unversioned plugins) and "no step" (no dialogue).
pub const NONE: &str = "none";

/// Upper bounds of handler and update latency buckets, seconds.
const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Upper bounds of the buckets of an update's arrival to its first Bot API
/// call, seconds: fine at the low end, where the host's share is read.
const FIRST_CALL_BUCKETS: [f64; 14] =
    [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0, 10.0];
/// Upper bounds of Bot API call latency buckets, seconds (long polls excluded).
const API_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Upper bounds of event-loop lag buckets, seconds.
const LAG_BUCKETS: [f64; 9] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

/// Label sets the hot path finds in a [`Hot`] slot are compared by address;
/// the others are looked up in the family's `HashMap` with std's SipHash;
/// feeding it one word made of each label's length and first eight bytes,
/// instead of every string's bytes, makes the lookup several times cheaper.
/// Equal label sets hash equal, as `Hash` requires; sets that share lengths
/// and prefixes only cost the map an extra comparison.
macro_rules! static_labels {
    ($name:ident: $($field:ident),+) => {
        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                state.write_u64(label_word(&[$(self.$field),+]));
            }
        }
        impl SameLabels for $name {
            fn same(&self, other: &Self) -> bool {
                $(std::ptr::eq(self.$field, other.$field))&&+
            }
        }
    };
}

fn label_word(parts: &[&str]) -> u64 {
    let mut h: u64 = 0;
    for part in parts {
        let mut head = [0u8; 8];
        let n = part.len().min(8);
        head[..n].copy_from_slice(&part.as_bytes()[..n]);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(head) ^ ((part.len() as u64) << 56))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    h
}

#[derive(Clone, Debug, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}
static_labels!(KindLabel: kind);

#[derive(Clone, Debug, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}
static_labels!(OutcomeLabel: outcome);

#[derive(Clone, Debug, PartialEq, Eq, EncodeLabelSet)]
struct HandlerLabels {
    plugin: &'static str,
    version: &'static str,
    step: &'static str,
}
static_labels!(HandlerLabels: plugin, version, step);

#[derive(Clone, Debug, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    plugin: &'static str,
    version: &'static str,
    step: &'static str,
    kind: &'static str,
}
static_labels!(ErrorLabels: plugin, version, step, kind);

#[derive(Clone, Debug, PartialEq, Eq, EncodeLabelSet)]
struct ReportedLabels {
    plugin: &'static str,
    version: &'static str,
    what: &'static str,
}
static_labels!(ReportedLabels: plugin, version, what);

#[derive(Clone, Debug, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    plugin: &'static str,
    version: &'static str,
    reason: &'static str,
}
static_labels!(DecisionLabels: plugin, version, reason);

#[derive(Clone, Debug, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabel {
    method: &'static str,
}
static_labels!(MethodLabel: method);

#[derive(Clone, Debug, PartialEq, Eq, EncodeLabelSet)]
struct MethodErrorLabels {
    method: &'static str,
    error: &'static str,
}
static_labels!(MethodErrorLabels: method, error);

/// Which way a handler failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// It returned an error.
    Error,
    /// It panicked.
    Panic,
}

/// Every metric the host updates as it serves.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    updates: Hot<KindLabel, Counter>,
    outcomes: Hot<OutcomeLabel, Counter>,
    update_seconds: Histogram,
    first_call_seconds: Histogram,
    handler_seconds: Hot<HandlerLabels, Histogram>,
    handler_errors: Family<ErrorLabels, Counter>,
    reported: Family<ReportedLabels, Counter>,
    decisions: Hot<DecisionLabels, Counter>,
    api_seconds: Hot<MethodLabel, Histogram>,
    api_errors: Family<MethodErrorLabels, Counter>,
    loop_lag: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let latency: fn() -> Histogram = || Histogram::new(LATENCY_BUCKETS);
        let api: fn() -> Histogram = || Histogram::new(API_BUCKETS);
        let m = Self {
            registry: Registry::default(),
            updates: Hot::new(Family::default()),
            outcomes: Hot::new(Family::default()),
            update_seconds: Histogram::new(LATENCY_BUCKETS),
            first_call_seconds: Histogram::new(FIRST_CALL_BUCKETS),
            handler_seconds: Hot::new(Family::new_with_constructor(latency)),
            handler_errors: Family::default(),
            reported: Family::default(),
            decisions: Hot::new(Family::default()),
            api_seconds: Hot::new(Family::new_with_constructor(api)),
            api_errors: Family::default(),
            loop_lag: Histogram::new(LAG_BUCKETS),
        };
        m.registered()
    }
}

impl Metrics {
    fn registered(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            "vox_updates",
            "Updates received from Telegram, by kind (text, command, callback, unsupported, other)",
            self.updates.family().clone(),
        );
        r.register(
            "vox_update_outcomes",
            "Updates served, by how they ended (handled, handler_error, outdated_button, ...)",
            self.outcomes.family().clone(),
        );
        r.register(
            "vox_update_duration_seconds",
            "Time to serve one update, routing to the last Bot API call",
            self.update_seconds.clone(),
        );
        r.register(
            "vox_update_first_call_seconds",
            "Time from an update's arrival to the first Bot API call serving it: the host's share of a reply's latency",
            self.first_call_seconds.clone(),
        );
        r.register(
            "vox_handler_duration_seconds",
            "Time in a plugin's handler, by plugin, version and the step the update arrived at",
            self.handler_seconds.family().clone(),
        );
        r.register(
            "vox_handler_errors",
            "Handlers that returned an error (kind=error) or panicked (kind=panic)",
            self.handler_errors.clone(),
        );
        r.register(
            "vox_plugin_failures",
            "Failures a plugin reported (a list not delivered, a delete that left its file, the store failing), by plugin, version and what",
            self.reported.clone(),
        );
        r.register(
            "vox_rollout_decisions",
            "Which version served an update and why (stable, canary, allow, deny, kill, button, ...)",
            self.decisions.family().clone(),
        );
        r.register(
            "vox_telegram_request_duration_seconds",
            "Bot API calls the host made, by method (each attempt; getUpdates long polls excluded)",
            self.api_seconds.family().clone(),
        );
        r.register(
            "vox_telegram_request_errors",
            "Bot API calls that failed, by method and error (rate_limited, api, network, other)",
            self.api_errors.clone(),
        );
        r.register(
            "vox_event_loop_lag_seconds",
            "How late a 100 ms timer on the async runtime fired: a busy or blocked executor shows here",
            self.loop_lag.clone(),
        );
        self
    }

    /// An update arrived (`kind`: `text`, `command`, `callback`, `unsupported` or `other`).
    pub fn update(&self, kind: &'static str) {
        self.updates.with(KindLabel { kind }, |c| {
            c.inc();
        });
    }

    /// An update was served.
    pub fn served(&self, outcome: &'static str, took: Duration) {
        self.outcomes.with(OutcomeLabel { outcome }, |c| {
            c.inc();
        });
        self.update_seconds.observe(took.as_secs_f64());
    }

    /// An update's first Bot API call is being made, `took` after it arrived.
    pub fn first_call(&self, took: Duration) {
        self.first_call_seconds.observe(took.as_secs_f64());
    }

    /// A handler ran; `failure` says if it failed.
    pub fn handler(
        &self,
        plugin: &'static str,
        version: Option<&'static str>,
        step: Option<&'static str>,
        took: Duration,
        failure: Option<Failure>,
    ) {
        let version = version.unwrap_or(NONE);
        let step = step.unwrap_or(NONE);
        self.handler_seconds.with(HandlerLabels { plugin, version, step }, |h| h.observe(took.as_secs_f64()));
        if let Some(f) = failure {
            let kind = match f {
                Failure::Error => "error",
                Failure::Panic => "panic",
            };
            self.handler_errors.get_or_create(&ErrorLabels { plugin, version, step, kind }).inc();
        }
    }

    /// A plugin reported a failure the host cannot see (`Ctx::report_failure`).
    pub fn reported_failure(&self, plugin: &'static str, version: &'static str, what: &'static str) {
        self.reported.get_or_create(&ReportedLabels { plugin, version, what }).inc();
    }

    /// The rollout picked `version` for an update to `plugin`.
    pub fn decision(&self, plugin: &'static str, version: Option<&'static str>, reason: &'static str) {
        let version = version.unwrap_or(NONE);
        self.decisions.with(DecisionLabels { plugin, version, reason }, |c| {
            c.inc();
        });
    }

    /// One Bot API attempt finished; `error` names its failure, if any.
    pub fn api_call(&self, method: &'static str, took: Duration, error: Option<&'static str>) {
        self.api_seconds.with(MethodLabel { method }, |h| h.observe(took.as_secs_f64()));
        if let Some(error) = error {
            self.api_errors.get_or_create(&MethodErrorLabels { method, error }).inc();
        }
    }

    /// A Bot API call that is not timed (the long poll) failed.
    pub fn api_error(&self, method: &'static str, error: &'static str) {
        self.api_errors.get_or_create(&MethodErrorLabels { method, error }).inc();
    }

    /// The event loop woke `lag` later than asked.
    pub fn loop_lag(&self, lag: Duration) {
        self.loop_lag.observe(lag.as_secs_f64());
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// A short, stable name for a Bot API error, for the `error` label.
pub fn error_kind(e: &teloxide::RequestError) -> &'static str {
    use teloxide::RequestError;
    match e {
        RequestError::RetryAfter(_) => "rate_limited",
        RequestError::Api(_) | RequestError::MigrateToChatId(_) => "api",
        RequestError::Network(_) => "network",
        RequestError::InvalidJson { .. } => "invalid_json",
        RequestError::Io(_) => "io",
    }
}
