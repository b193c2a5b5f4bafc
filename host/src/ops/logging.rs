//! The tracing subscriber: human lines by default, JSON lines on request; the
//! `log` records of teloxide are bridged into it; one OpenTelemetry span per
//! update is exported when `OTEL_EXPORTER_OTLP_ENDPOINT` is set ([`otlp`]).

mod background;
mod json;
pub mod otlp;

use tracing::Subscriber;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry};

pub use background::{Background, LineWriter, LogGuard};
pub use json::JsonLayer;

use crate::config::LogFormat;

/// Installs the global subscriber writing to stderr through the background
/// writer; a second call (tests) installs nothing. Keep the guard until exit:
/// dropping it writes what is still queued.
pub fn init(format: LogFormat, level: &str) -> Option<LogGuard> {
    let (writer, guard) = match Background::start(std::io::stderr()) {
        Ok(started) => started,
        Err(e) => {
            // No thread for the writer: log synchronously rather than not at all.
            eprintln!("warning: log writer thread not started ({e}); logging synchronously");
            install(format, level, std::io::stderr);
            return None;
        }
    };
    install(format, level, writer);
    Some(guard)
}

fn install<W>(format: LogFormat, level: &str, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // Trace export rides beside the log lines when the standard variables ask for it.
    let otlp = otlp::OtlpConfig::from_vars(|k| std::env::var(k).ok()).and_then(|config| {
        let url = config.url.clone();
        match otlp::OtlpLayer::start(config) {
            Ok(layer) => {
                eprintln!("trace export: one span per update to {url}");
                Some(layer)
            }
            Err(e) => {
                eprintln!("warning: trace export not started ({e})");
                None
            }
        }
    });
    // The human format shows the update span's fields; trace export is made of
    // the span. JSON lines alone read the update's scope and need no span.
    crate::services::update_scope::want_update_span(format == LogFormat::Human || otlp.is_some());
    match format {
        LogFormat::Human => {
            let fmt = tracing_subscriber::fmt::layer().with_writer(writer);
            let _ = tracing_subscriber::registry().with(filter(level)).with(fmt).with(otlp).try_init();
        }
        LogFormat::Json => {
            let _ = tracing_subscriber::registry()
                .with(filter(level))
                .with(JsonLayer::new(writer))
                .with(otlp)
                .try_init();
        }
    }
}

/// The subscriber of `log.format = "json"`: one flat JSON object per line
/// (see [`JsonLayer`]). Public so the bench measures exactly what runs.
///
/// Like the production set-up, it tells the host no layer needs the `update` span.
pub fn json_subscriber<W>(level: &str, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    crate::services::update_scope::want_update_span(false);
    tracing_subscriber::registry().with(filter(level)).with(JsonLayer::new(writer))
}

/// The level filter. A plain level (`info`, `warn`, ...) is a static
/// `LevelFilter`, decided once per callsite; only per-target directives
/// (`info,vox_host=debug`) need `EnvFilter`, which also looks up every span
/// as it is entered, exited and closed. A bad level string must not keep the
/// host from starting: it falls back to `info`.
fn filter(level: &str) -> Box<dyn Layer<Registry> + Send + Sync> {
    if let Ok(plain) = level.trim().parse::<LevelFilter>() {
        return Box::new(plain);
    }
    Box::new(EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info")))
}
