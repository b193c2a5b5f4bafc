//! A hand-written JSON log line: tracing-subscriber's own JSON formatter
//! re-parses the span's fields from text on every event (~5 µs per update);
//! here span fields are rendered once, when recorded, and copied into each line.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::time::{Duration, SystemTime};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// Writes each event as one flat JSON object on its own line: `timestamp`
/// (RFC 3339, UTC, microseconds), `level`, `target`, `message`, the event's
/// fields, then the fields of every span the event is in (innermost first).
/// A name is written once: the event's field wins over a span's, an inner
/// span's over an outer one's, and `timestamp`/`level`/`target` over any field,
/// so the line never has duplicate keys.
pub struct JsonLayer<W> {
    writer: W,
}

impl<W> JsonLayer<W>
where
    W: for<'a> MakeWriter<'a> + 'static,
{
    pub fn new(writer: W) -> Self {
        Self { writer }
    }
}

/// A span's fields as ready-made `,"name":value` fragments, kept in the span's
/// extensions; an event only copies them.
struct SpanFields {
    text: String,
    /// Byte range of each field's fragment in `text`; a field recorded again
    /// points to its new fragment (the old text stays until the span closes).
    fields: Vec<(&'static str, usize, usize)>,
}

impl SpanFields {
    fn with_capacity(fields: usize) -> Self {
        // Room for the host's `update` span (seven short fields) without regrowing.
        Self { text: String::with_capacity(160), fields: Vec::with_capacity(fields) }
    }

    fn record(&mut self, values: &Record<'_>) {
        values.record(&mut Json(SpanSink { fields: self, start: 0 }));
    }
}

/// The per-thread buffers one event is assembled in; reused so a line allocates nothing.
#[derive(Default)]
struct Line {
    out: String,
    fields: String,
    target: String,
    names: Vec<&'static str>,
}

thread_local! {
    static LINE: RefCell<Line> = RefCell::new(Line::default());
}

/// A burst of huge events must not pin that much memory to every thread for good.
const KEEP_CAPACITY: usize = 16 * 1024;

/// Names the line itself writes; a field with one of them is left out.
const RESERVED: [&str; 3] = ["timestamp", "level", "target"];

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanFields::with_capacity(attrs.metadata().fields().len());
        attrs.record(&mut Json(SpanSink { fields: &mut fields, start: 0 }));
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        match ext.get_mut::<SpanFields>() {
            Some(fields) => fields.record(values),
            None => {
                let mut fields = SpanFields::with_capacity(values.len());
                fields.record(values);
                ext.insert(fields);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let write = |line: &mut Line| {
            line.assemble(event, &ctx, SystemTime::now());
            // Nowhere to report a failed log write; the stock formatter drops it too.
            let _ = self.writer.make_writer_for(event.metadata()).write_all(line.out.as_bytes());
        };
        let pooled = LINE.try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut line) => {
                write(&mut line);
                line.shrink();
            }
            // An event logged while this thread formats another (from a field's
            // Debug impl) gets buffers of its own.
            Err(_) => write(&mut Line::default()),
        });
        if pooled.is_err() {
            // The thread is exiting and its buffers are gone.
            write(&mut Line::default());
        }
    }
}

impl Line {
    fn assemble<S>(&mut self, event: &Event<'_>, ctx: &Context<'_, S>, now: SystemTime)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let Line { out, fields, target, names } = self;
        out.clear();
        fields.clear();
        target.clear();
        names.clear();
        names.extend_from_slice(&RESERVED);

        let meta = event.metadata();
        event.record(&mut Json(EventSink { out: fields, target, names }));

        out.push_str("{\"timestamp\":\"");
        // A clock before 1970 is wrong anyway; the line still goes out.
        push_timestamp(out, now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default());
        out.push_str("\",\"level\":\"");
        out.push_str(level_name(meta.level()));
        out.push_str("\",\"target\":");
        if target.is_empty() {
            push_str_value(out, meta.target());
        } else {
            // A `log` record bridged by tracing-log: its own target, not "log".
            out.push_str(target);
        }
        out.push_str(fields);
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                let ext = span.extensions();
                let Some(span_fields) = ext.get::<SpanFields>() else { continue };
                for &(name, start, end) in &span_fields.fields {
                    if names.contains(&name) {
                        continue;
                    }
                    names.push(name);
                    out.push_str(span_fields.text.get(start..end).unwrap_or_default());
                }
            }
        }
        out.push_str("}\n");
    }

    fn shrink(&mut self) {
        for buf in [&mut self.out, &mut self.fields, &mut self.target] {
            if buf.capacity() > KEEP_CAPACITY {
                *buf = String::new();
            }
        }
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

/// Where a visited field's JSON value goes: `start` returns the buffer to write
/// it to (after writing the key), or `None` to skip the field.
trait Sink {
    fn start(&mut self, field: &Field) -> Option<&mut String>;
    fn finish(&mut self, field: &Field);
}

/// An event's fields, written straight into the line's field buffer.
struct EventSink<'a> {
    out: &'a mut String,
    target: &'a mut String,
    names: &'a mut Vec<&'static str>,
}

impl Sink for EventSink<'_> {
    fn start(&mut self, field: &Field) -> Option<&mut String> {
        let name = field.name();
        if name == "log.target" {
            self.target.clear();
            return Some(self.target);
        }
        // tracing-log's other fields (module path, file, line) are noise in a
        // log line, as in tracing-subscriber's formatters.
        if name.starts_with("log.") || self.names.contains(&name) {
            return None;
        }
        self.names.push(name);
        push_key(self.out, name);
        Some(self.out)
    }

    fn finish(&mut self, _: &Field) {}
}

/// A span's fields, rendered into its [`SpanFields`].
struct SpanSink<'a> {
    fields: &'a mut SpanFields,
    start: usize,
}

impl Sink for SpanSink<'_> {
    fn start(&mut self, field: &Field) -> Option<&mut String> {
        self.start = self.fields.text.len();
        push_key(&mut self.fields.text, field.name());
        Some(&mut self.fields.text)
    }

    fn finish(&mut self, field: &Field) {
        let name = field.name();
        let range = (name, self.start, self.fields.text.len());
        match self.fields.fields.iter_mut().find(|(n, _, _)| *n == name) {
            Some(slot) => *slot = range,
            None => self.fields.fields.push(range),
        }
    }
}

/// Renders each visited value as JSON into its [`Sink`].
struct Json<S>(S);

impl<S: Sink> Json<S> {
    fn put(&mut self, field: &Field, write: impl FnOnce(&mut String)) {
        if let Some(out) = self.0.start(field) {
            write(out);
            self.0.finish(field);
        }
    }
}

impl<S: Sink> Visit for Json<S> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, |out| {
            if value.is_finite() {
                // Writing to a String cannot fail.
                let _ = write!(out, "{value}");
            } else {
                // JSON has no NaN or infinity; a string keeps the information.
                let _ = write!(out, "\"{value}\"");
            }
        })
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, |out| {
            let _ = write!(out, "{value}");
        })
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, |out| {
            let _ = write!(out, "{value}");
        })
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, |out| {
            let _ = write!(out, "{value}");
        })
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, |out| {
            let _ = write!(out, "{value}");
        })
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, |out| out.push_str(if value { "true" } else { "false" }))
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, |out| push_str_value(out, value))
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, |out| {
            out.push('"');
            // Escaped as it is formatted: no intermediate String. A Debug impl
            // that fails leaves its partial text, still a valid JSON string.
            let _ = write!(Escaping(out), "{value:?}");
            out.push('"');
        })
    }
}

fn push_key(out: &mut String, name: &str) {
    out.push_str(",\"");
    push_escaped(out, name);
    out.push_str("\":");
}

fn push_str_value(out: &mut String, value: &str) {
    out.push('"');
    push_escaped(out, value);
    out.push('"');
}

/// A `fmt::Write` that escapes for the inside of a JSON string.
struct Escaping<'a>(&'a mut String);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        push_escaped(self.0, s);
        Ok(())
    }
}

/// Escapes what JSON requires (quote, backslash, control characters) and leaves
/// everything else, Cyrillic included, as UTF-8 so the line stays readable.
fn push_escaped(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut clean = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        // `b` is ASCII, so both cuts fall on char boundaries.
        out.push_str(&s[clean..i]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        clean = i + 1;
    }
    out.push_str(&s[clean..]);
}

/// `2024-05-01T12:34:56.123456Z`, computed by hand: chrono's formatting
/// machinery costs several times more, once per line.
fn push_timestamp(out: &mut String, since_epoch: Duration) {
    let secs = since_epoch.as_secs();
    let (year, month, day) = civil_from_days(secs / 86_400);
    let of_day = secs % 86_400;
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut value: u64| {
        for i in (at..at + width).rev() {
            // `value % 10` is one digit: the cast cannot truncate.
            text[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, of_day / 3600);
    put(14, 2, of_day % 3600 / 60);
    put(17, 2, of_day % 60);
    put(20, 6, u64::from(since_epoch.subsec_micros()));
    out.push_str(std::str::from_utf8(&text).unwrap_or("1970-01-01T00:00:00.000000Z"));
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar — Howard Hinnant's `civil_from_days`, for days ≥ 0.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use serde_json::{Map, Value, json};
    use tracing::field::Empty;

    use super::*;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().map_err(|_| io::Error::other("poisoned"))?.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;

        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }

    /// Runs `f` under the production JSON subscriber; returns the lines written.
    fn lines(f: impl FnOnce()) -> Vec<String> {
        let capture = Capture::default();
        tracing::subscriber::with_default(crate::logging::json_subscriber("trace", capture.clone()), f);
        let bytes = capture.0.lock().expect("capture lock").clone();
        let text = String::from_utf8(bytes).expect("UTF-8 output");
        assert!(text.ends_with('\n'), "every line ends with a newline: {text:?}");
        text.lines().map(str::to_owned).collect()
    }

    fn one_line(f: impl FnOnce()) -> (String, Map<String, Value>) {
        let mut all = lines(f);
        assert_eq!(all.len(), 1, "{all:?}");
        let line = all.remove(0);
        let Value::Object(map) = serde_json::from_str(&line).expect("valid JSON") else {
            panic!("not an object: {line}");
        };
        (line, map)
    }

    /// Every key appears once in the raw text (serde_json would hide a duplicate).
    fn assert_no_duplicate_keys(line: &str, map: &Map<String, Value>) {
        for key in map.keys() {
            assert_eq!(line.matches(&format!("\"{key}\":")).count(), 1, "{key} in {line}");
        }
    }

    fn without_timestamp(mut map: Map<String, Value>) -> Value {
        let ts = map.remove("timestamp").expect("timestamp");
        let ts = ts.as_str().expect("timestamp is a string");
        chrono::DateTime::parse_from_rfc3339(ts).expect("RFC 3339 timestamp");
        assert!(ts.ends_with('Z') && ts.len() == 27, "{ts}");
        Value::Object(map)
    }

    const TARGET: &str = "vox_host::logging::json::tests";

    #[test]
    fn event_in_update_span_with_fields_recorded_later() {
        let (line, map) = one_line(|| {
            let span = tracing::info_span!(
                "update",
                chat = -1001234567890_i64,
                user = 42_u64,
                kind = "command",
                plugin = Empty,
                version = Empty,
                step = Empty,
                reason = Empty,
            );
            span.record("plugin", "my_reports");
            span.record("version", "v2");
            span.record("step", "report_view_ask_number");
            let _entered = span.enter();
            tracing::info!(
                outcome = "ok",
                elapsed_us = 118_u64,
                cached = true,
                ratio = 0.25,
                "update served"
            );
        });
        assert_no_duplicate_keys(&line, &map);
        assert!(line.starts_with("{\"timestamp\":\""), "{line}");
        assert!(line.contains("\"level\":\"INFO\""), "{line}");
        assert_eq!(
            without_timestamp(map),
            json!({
                "level": "INFO",
                "target": TARGET,
                "message": "update served",
                "outcome": "ok",
                "elapsed_us": 118,
                "cached": true,
                "ratio": 0.25,
                "chat": -1001234567890_i64,
                "user": 42,
                "kind": "command",
                "plugin": "my_reports",
                "version": "v2",
                "step": "report_view_ask_number",
            })
        );
    }

    #[test]
    fn strings_are_escaped_and_cyrillic_stays_utf8() {
        let tricky = "Отчёт \"Q1\" C:\\dir\nline2\r\t\u{1}\u{8}\u{c}\u{1f} end";
        let err = io::Error::other("нет файла \"x\"");
        let (line, map) = one_line(|| {
            tracing::error!(name = tricky, error = %err, debug = ?"q\"", "сбой: {}", "ok");
        });
        assert!(line.contains("\"level\":\"ERROR\""), "{line}");
        assert!(line.contains("Отчёт \\\"Q1\\\" C:\\\\dir\\nline2\\r\\t\\u0001\\b\\f\\u001f end"), "{line}");
        assert!(line.contains("\"message\":\"сбой: ok\""), "{line}");
        assert_eq!(map["name"], tricky);
        assert_eq!(map["error"], "нет файла \"x\"");
        assert_eq!(map["debug"], "\"q\\\"\"");
        assert_eq!(map["message"], "сбой: ok");
    }

    #[test]
    fn event_outside_any_span() {
        let (line, map) = one_line(|| tracing::warn!(chat = 5_i64, "button nobody owns"));
        assert_no_duplicate_keys(&line, &map);
        assert_eq!(
            without_timestamp(map),
            json!({"level": "WARN", "target": TARGET, "message": "button nobody owns", "chat": 5})
        );
    }

    #[test]
    fn nested_spans_flatten_with_inner_and_event_winning() {
        let (line, map) = one_line(|| {
            let outer = tracing::info_span!("update", chat = 1_i64, plugin = "outer", step = "outer");
            let _outer = outer.enter();
            let inner = tracing::info_span!("call", plugin = "inner", attempt = 2_u64);
            let _inner = inner.enter();
            tracing::debug!(step = "event", "nested");
        });
        assert_no_duplicate_keys(&line, &map);
        assert_eq!(
            without_timestamp(map),
            json!({
                "level": "DEBUG",
                "target": TARGET,
                "message": "nested",
                "step": "event",
                "plugin": "inner",
                "attempt": 2,
                "chat": 1,
            })
        );
    }

    #[test]
    fn record_fills_an_empty_field_and_overrides_a_set_one() {
        let (line, map) = one_line(|| {
            let span = tracing::info_span!("update", plugin = Empty, reason = "first");
            let _entered = span.enter();
            span.record("plugin", "main_menu");
            span.record("reason", "second");
            span.record("reason", 3_u64);
            tracing::info!("x");
        });
        assert_no_duplicate_keys(&line, &map);
        assert_eq!(map["plugin"], "main_menu");
        assert_eq!(map["reason"], 3);
        // The span's fields keep their first-recorded order; the override replaces in place.
        assert!(line.ends_with(",\"reason\":3,\"plugin\":\"main_menu\"}"), "{line}");
    }

    #[test]
    fn reserved_names_and_bridged_log_records() {
        let (line, map) = one_line(|| {
            let span = tracing::info_span!("update", level = "span", message = "span");
            let _entered = span.enter();
            tracing::info!(
                log.target = "teloxide::dispatching",
                log.module_path = "teloxide::dispatching",
                log.line = 12_u64,
                target = "field",
                "polling"
            );
        });
        assert_no_duplicate_keys(&line, &map);
        assert_eq!(
            without_timestamp(map),
            json!({"level": "INFO", "target": "teloxide::dispatching", "message": "polling"})
        );
    }

    #[test]
    fn non_finite_floats_become_strings() {
        let (_, map) = one_line(|| tracing::info!(a = f64::NAN, b = f64::INFINITY, c = -1.5e-7, "f"));
        assert_eq!(map["a"], "NaN");
        assert_eq!(map["b"], "inf");
        assert_eq!(map["c"], -1.5e-7);
    }

    #[test]
    fn lines_from_many_events_stay_separate() {
        let all = lines(|| {
            for i in 0..3_u64 {
                let span = tracing::info_span!("update", chat = i);
                let _entered = span.enter();
                tracing::info!(i, "n");
            }
        });
        assert_eq!(all.len(), 3);
        for (i, line) in all.iter().enumerate() {
            let v: Value = serde_json::from_str(line).expect("valid JSON");
            assert_eq!(v["chat"], i);
            assert_eq!(v["i"], i);
        }
    }

    #[test]
    fn timestamp_matches_chrono() {
        let instants = [
            (0, 0),
            (951_782_400, 1_000),         // 2000-02-29
            (1_709_251_199, 999_999_999), // 2024-02-29T23:59:59.999999
            (1_735_689_600, 500_000),     // 2025-01-01
            (4_107_542_400, 123_456_000), // 2100-03-01, not a leap year
            (253_402_300_799, 0),         // 9999-12-31T23:59:59
        ];
        for (secs, nanos) in instants {
            let mut out = String::new();
            push_timestamp(&mut out, Duration::new(secs, nanos));
            let expected = chrono::DateTime::from_timestamp(secs as i64, nanos)
                .expect("in range")
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            assert_eq!(out, expected);
        }
    }
}
