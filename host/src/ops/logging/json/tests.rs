//! The JSON line's exact shape: keys, types, escaping, span nesting.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    tracing::subscriber::with_default(crate::ops::logging::json_subscriber("trace", capture.clone()), f);
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

const TARGET: &str = "vox_host::ops::logging::json::tests";

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
        tracing::info!(outcome = "ok", elapsed_us = 118_u64, cached = true, ratio = 0.25, "update served");
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

/// Runs `f` as the serving of update 9 (chat 70, user 7, a command routed to echo v2).
fn in_update_scope(f: impl FnOnce()) {
    use crate::services::update_scope::{self, Route, UpdateScope};
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    rt.block_on(update_scope::serving(
        UpdateScope::new(std::time::Instant::now(), 9, 70, 7, "command"),
        async move {
            update_scope::set_route(Route {
                plugin: Some("echo"),
                version: Some("v2"),
                reason: Some("canary"),
                step: None,
            });
            f();
        },
    ));
}

#[test]
fn an_event_while_an_update_is_served_carries_the_updates_fields_without_a_span() {
    let (line, map) = one_line(|| in_update_scope(|| tracing::info!(outcome = "ok", "update served")));
    assert_no_duplicate_keys(&line, &map);
    assert_eq!(
        without_timestamp(map),
        json!({
            "level": "INFO", "target": TARGET, "message": "update served", "outcome": "ok",
            "update_id": 9, "chat": 70, "user": 7, "kind": "command",
            "plugin": "echo", "version": "v2", "reason": "canary"
        })
    );
}

#[test]
fn the_update_scope_and_a_span_with_the_same_names_give_each_key_once() {
    let (line, map) = one_line(|| {
        in_update_scope(|| {
            let span = tracing::info_span!("update", chat = 70_i64, plugin = "echo", step = "asked");
            let _entered = span.enter();
            // The event's own field wins, then the scope's, then the span's.
            tracing::info!(chat = 1_i64, "inner");
        })
    });
    assert_no_duplicate_keys(&line, &map);
    assert_eq!(map["chat"], 1);
    assert_eq!(map["plugin"], "echo");
    assert_eq!(map["step"], "asked", "what only the span has still shows");
}
