//! A hand-written JSON log line: tracing-subscriber's own JSON formatter
//! re-parses the span's fields from text on every event (~5 µs per update);
//! here span fields are rendered once, when recorded, and copied into each
//! line, and the update's own fields come from its scope
//! ([`crate::services::update_scope`]) without a span at all.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

mod encode;

use crate::services::update_scope::{self, UpdateScope};

use encode::{Escaping, push_int, push_key, push_plain_key, push_str_value, push_timestamp};

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
    names: Names,
}

/// The keys a line already has, so each is written once.
#[derive(Default)]
struct Names {
    list: Vec<&'static str>,
    /// One bit per (length, first, last byte) class: most names are new, and
    /// a clear bit proves it without comparing strings.
    seen: u64,
}

impl Names {
    fn class(name: &str) -> u64 {
        let b = name.as_bytes();
        let (first, last) = (b.first().copied().unwrap_or(0), b.last().copied().unwrap_or(0));
        1 << ((b.len() as u32 * 7 + u32::from(first) + u32::from(last)) & 63)
    }

    fn reset(&mut self) {
        self.list.clear();
        self.seen = 0;
        for name in RESERVED {
            self.insert(name);
        }
    }

    /// Adds `name`; false when the line has it already.
    fn insert(&mut self, name: &'static str) -> bool {
        let class = Self::class(name);
        if self.seen & class != 0 && self.list.contains(&name) {
            return false;
        }
        self.seen |= class;
        self.list.push(name);
        true
    }
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
        names.reset();

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
        update_scope::current(|update| push_update_fields(out, names, update));
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                let ext = span.extensions();
                let Some(span_fields) = ext.get::<SpanFields>() else { continue };
                for &(name, start, end) in &span_fields.fields {
                    if !names.insert(name) {
                        continue;
                    }
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

/// The fields of the update being served (its [`update_scope`]): what the
/// `update` span carries, without the span. Keys are literals: nothing to escape.
fn push_update_fields(out: &mut String, names: &mut Names, update: &UpdateScope) {
    let route = update.route();
    let ints = [("update_id", i64::from(update.update_id)), ("chat", update.chat), ("user", update.user)];
    for (name, value) in ints {
        if names.insert(name) {
            push_plain_key(out, name);
            push_int(out, value);
        }
    }
    let strs = [
        ("kind", Some(update.kind)),
        ("plugin", route.plugin),
        ("version", route.version),
        ("step", route.step),
        ("reason", route.reason),
    ];
    for (name, value) in strs {
        if let Some(value) = value
            && names.insert(name)
        {
            push_plain_key(out, name);
            push_str_value(out, value);
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
    names: &'a mut Names,
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
        if name.starts_with("log.") || !self.names.insert(name) {
            return None;
        }
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
        self.put(field, |out| push_int(out, value))
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, |out| push_int(out, value))
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, |out| push_int(out, value))
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, |out| push_int(out, value))
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

#[cfg(test)]
mod tests;
