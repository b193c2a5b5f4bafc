//! The tracing subscriber: human lines by default, JSON lines on request; the
//! `log` records of teloxide are bridged into it.

mod json;

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use json::JsonLayer;

use crate::config::LogFormat;

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(format: LogFormat, level: &str) {
    match format {
        LogFormat::Human => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter(level))
                .with_writer(std::io::stderr)
                .try_init();
        }
        LogFormat::Json => {
            let _ = json_subscriber(level, std::io::stderr).try_init();
        }
    }
}

/// The subscriber of `log.format = "json"`: one flat JSON object per line
/// (see [`JsonLayer`]). Public so the bench measures exactly what runs.
pub fn json_subscriber<W>(level: &str, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::registry().with(filter(level)).with(JsonLayer::new(writer))
}

/// A bad level string must not keep the host from starting: it falls back to `info`.
fn filter(level: &str) -> EnvFilter {
    EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"))
}
