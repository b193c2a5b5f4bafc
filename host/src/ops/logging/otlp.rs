//! Optional trace export, off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: one OTLP span per update —
//! `update_id`, chat, user, kind, the plugin, the rollout decision
//! (`vox.rollout.version`, `vox.rollout.reason`), the step and the outcome as
//! attributes — sent in batches as OTLP/HTTP JSON (`POST <endpoint>/v1/traces`)
//! by a thread of its own. Written here rather than with `tracing-opentelemetry`
//! and `opentelemetry-otlp`: those bring the OpenTelemetry SDK, prost and a
//! gRPC or HTTP stack to every build of a 2-core CI, for one span kind; the
//! JSON encoding is OTLP's own and any collector takes it. The HTTP client is
//! teloxide's reqwest, already in the binary.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// Spans waiting for the exporter at most; beyond, new ones are dropped (counted).
const QUEUE: usize = 4096;
/// Spans per request at most.
const BATCH: usize = 512;
/// How often the thread looks whether the layer is gone.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Where and as whom spans are exported, from the standard variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpConfig {
    /// The full traces URL.
    pub url: String,
    /// `service.name`.
    pub service: String,
    /// Extra request headers (`OTEL_EXPORTER_OTLP_HEADERS`: `k=v,k2=v2`).
    pub headers: Vec<(String, String)>,
}

impl OtlpConfig {
    /// From `vars` (the process environment); `None` when export is off.
    pub fn from_vars(vars: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let set = |name: &str| vars(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let url = match set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            Some(url) => url,
            None => format!("{}/v1/traces", set("OTEL_EXPORTER_OTLP_ENDPOINT")?.trim_end_matches('/')),
        };
        let headers = set("OTEL_EXPORTER_OTLP_HEADERS")
            .map(|h| {
                h.split(',')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            url,
            service: set("OTEL_SERVICE_NAME").unwrap_or_else(|| "vox-host".to_owned()),
            headers,
        })
    }
}

/// One attribute value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i64),
}

/// An update span as it is exported.
#[derive(Debug, Clone)]
struct Finished {
    start: SystemTime,
    end: SystemTime,
    attributes: Vec<(&'static str, Value)>,
    failed: bool,
}

/// An open update span: when it started and what it recorded.
struct Open {
    start: SystemTime,
    attributes: Vec<(&'static str, Value)>,
    failed: bool,
}

/// The span fields exported, under their OpenTelemetry names.
fn attribute_name(field: &str) -> Option<&'static str> {
    Some(match field {
        "update_id" => "vox.update_id",
        "chat" => "vox.chat",
        "user" => "vox.user",
        "kind" => "vox.update.kind",
        "plugin" => "vox.plugin",
        "version" => "vox.rollout.version",
        "reason" => "vox.rollout.reason",
        "step" => "vox.step",
        "outcome" => "vox.outcome",
        _ => return None,
    })
}

struct Collect<'a>(&'a mut Vec<(&'static str, Value)>);

impl Collect<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        let Some(name) = attribute_name(field.name()) else { return };
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }
}

impl Visit for Collect<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::Str(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::Int(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::Int(value as i64));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::Str(format!("{value:?}")));
    }
}

/// The tracing layer: keeps each `update` span's attributes and hands the
/// closed span to the exporter thread.
pub struct OtlpLayer {
    spans: SyncSender<Finished>,
}

/// Spans dropped because the exporter's queue was full.
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// Spans a collector took.
static EXPORTED: AtomicU64 = AtomicU64::new(0);
/// Spans lost with a request that failed.
static FAILED: AtomicU64 = AtomicU64::new(0);

/// The exporter's figures on `/metrics` (zeros while export is off).
pub struct TraceExport;

impl crate::metrics::Collect for TraceExport {
    fn collect(&self, out: &mut crate::metrics::Scraped) {
        use crate::metrics::Kind;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        out.one(
            "vox_trace_spans_exported",
            "Update spans an OTLP collector took",
            Kind::Counter,
            n(&EXPORTED),
        );
        out.one(
            "vox_trace_spans_dropped",
            "Update spans not exported: the queue was full or the collector failed",
            Kind::Counter,
            n(&DROPPED) + n(&FAILED),
        );
    }
}

impl OtlpLayer {
    /// Starts the exporter thread for `config`.
    pub fn start(config: OtlpConfig) -> std::io::Result<Self> {
        let (spans, rx) = sync_channel(QUEUE);
        std::thread::Builder::new().name("vox-otlp".into()).spawn(move || export(config, rx))?;
        Ok(Self { spans })
    }
}

impl<S> Layer<S> for OtlpLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "update" {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut open = Open { start: SystemTime::now(), attributes: Vec::with_capacity(9), failed: false };
        attrs.record(&mut Collect(&mut open.attributes));
        span.extensions_mut().insert(open);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(open) = span.extensions_mut().get_mut::<Open>() {
            values.record(&mut Collect(&mut open.attributes));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // The update's last line carries its outcome.
        let Some(scope) = ctx.event_scope(event) else { return };
        for span in scope {
            let mut ext = span.extensions_mut();
            let Some(open) = ext.get_mut::<Open>() else { continue };
            event.record(&mut Collect(&mut open.attributes));
            open.failed |= open
                .attributes
                .iter()
                .any(|(n, v)| *n == "vox.outcome" && matches!(v, Value::Str(s) if s.starts_with("handler_")));
            break;
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(open) = span.extensions_mut().remove::<Open>() else { return };
        let done = Finished {
            start: open.start,
            end: SystemTime::now(),
            attributes: open.attributes,
            failed: open.failed,
        };
        if let Err(TrySendError::Full(_)) = self.spans.try_send(done) {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The exporter thread: batches spans and POSTs them until the layer is gone.
fn export(config: OtlpConfig, rx: Receiver<Finished>) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("trace export off: no runtime for its thread ({e})");
            return;
        }
    };
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
    let mut batch = Vec::with_capacity(BATCH);
    let mut warned = false;
    loop {
        let closed = match rx.recv_timeout(FLUSH_EVERY) {
            Ok(span) => {
                batch.push(span);
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(span) => batch.push(span),
                        Err(_) => break,
                    }
                }
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        // What waited went into this batch: it goes now, however small.
        if !batch.is_empty() {
            let body = encode(&config.service, &batch);
            let spans = batch.len() as u64;
            batch.clear();
            let mut req = client.post(&config.url).header("content-type", "application/json").body(body);
            for (k, v) in &config.headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let sent = runtime.block_on(async { req.send().await.and_then(|r| r.error_for_status()) });
            if sent.is_ok() {
                EXPORTED.fetch_add(spans, Ordering::Relaxed);
            } else {
                FAILED.fetch_add(spans, Ordering::Relaxed);
            }
            match sent {
                Ok(_) => warned = false,
                // Logging from here would loop back into this layer: a line on stderr, once per outage.
                Err(e) if !warned => {
                    eprintln!("trace export to {} failed ({e}); spans of this batch are dropped", config.url);
                    warned = true;
                }
                Err(_) => {}
            }
        }
        if closed {
            return;
        }
    }
}

fn nanos(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// Random ids: a fresh trace per update (the update is where a trace starts).
fn random_hex(bytes: usize) -> String {
    let mut buf = [0u8; 16];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut buf[..bytes]);
    buf[..bytes].iter().fold(String::with_capacity(bytes * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The OTLP/HTTP JSON body of `spans`.
fn encode(service: &str, spans: &[Finished]) -> String {
    let attr = |key: &str, value: &Value| match value {
        Value::Str(s) => serde_json::json!({"key": key, "value": {"stringValue": s}}),
        // OTLP's JSON mapping writes 64-bit integers as strings.
        Value::Int(i) => serde_json::json!({"key": key, "value": {"intValue": i.to_string()}}),
    };
    let spans: Vec<serde_json::Value> = spans
        .iter()
        .map(|s| {
            serde_json::json!({
                "traceId": random_hex(16),
                "spanId": random_hex(8),
                "name": "update",
                "kind": 2,
                "startTimeUnixNano": nanos(s.start).to_string(),
                "endTimeUnixNano": nanos(s.end).to_string(),
                "attributes": s.attributes.iter().map(|(k, v)| attr(k, v)).collect::<Vec<_>>(),
                "status": {"code": if s.failed { 2 } else { 1 }},
            })
        })
        .collect();
    serde_json::json!({
        "resourceSpans": [{
            "resource": {"attributes": [attr("service.name", &Value::Str(service.to_owned()))]},
            "scopeSpans": [{
                "scope": {"name": "vox-host", "version": env!("CARGO_PKG_VERSION")},
                "spans": spans,
            }],
        }],
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_variables_turn_it_on_and_name_the_url() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(OtlpConfig::from_vars(vars(&[])), None, "off by default");
        let on = OtlpConfig::from_vars(vars(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-token=abc, tenant=vox"),
        ]))
        .expect("on");
        assert_eq!(on.url, "http://collector:4318/v1/traces");
        assert_eq!(on.service, "vox-host");
        assert_eq!(
            on.headers,
            [("x-token".to_owned(), "abc".to_owned()), ("tenant".to_owned(), "vox".to_owned())]
        );
        let traces = OtlpConfig::from_vars(vars(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/x")]));
        assert_eq!(traces.map(|c| c.url).as_deref(), Some("http://t:1/x"));
    }

    #[test]
    fn spans_encode_as_otlp_json() {
        let span = Finished {
            start: UNIX_EPOCH + Duration::from_secs(1),
            end: UNIX_EPOCH + Duration::from_secs(2),
            attributes: vec![("vox.rollout.version", Value::Str("v2".into())), ("vox.chat", Value::Int(7))],
            failed: true,
        };
        let body: serde_json::Value = serde_json::from_str(&encode("bot", &[span])).expect("json");
        let s = &body["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(s["name"], "update");
        assert_eq!(s["startTimeUnixNano"], "1000000000");
        assert_eq!(s["traceId"].as_str().map(str::len), Some(32));
        assert_eq!(s["spanId"].as_str().map(str::len), Some(16));
        assert_eq!(s["status"]["code"], 2);
        assert_eq!(s["attributes"][1]["value"]["intValue"], "7");
        assert_eq!(body["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"], "bot");
    }
}
