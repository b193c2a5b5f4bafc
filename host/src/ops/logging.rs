//! The tracing subscriber: human lines by default, JSON lines on request; the
//! `log` records of teloxide are bridged into it.

mod background;
mod json;

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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
    match format {
        LogFormat::Human => {
            let _ = tracing_subscriber::fmt().with_env_filter(filter(level)).with_writer(writer).try_init();
        }
        LogFormat::Json => {
            let _ = json_subscriber(level, writer).try_init();
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
