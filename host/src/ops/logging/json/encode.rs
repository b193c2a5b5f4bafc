//! JSON text for the log line: keys, escaped strings, the timestamp — the
//! primitives `json.rs` assembles a line from, without serde or chrono.

use std::fmt;
use std::time::Duration;

pub(super) fn push_key(out: &mut String, name: &str) {
    out.push_str(",\"");
    push_escaped(out, name);
    out.push_str("\":");
}

/// [`push_key`] of a name known to need no escape (the host's own literals).
pub(super) fn push_plain_key(out: &mut String, name: &str) {
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":");
}

pub(super) fn push_str_value(out: &mut String, value: &str) {
    out.push('"');
    push_escaped(out, value);
    out.push('"');
}

/// A `fmt::Write` that escapes for the inside of a JSON string.
pub(super) struct Escaping<'a>(pub(super) &'a mut String);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        push_escaped(self.0, s);
        Ok(())
    }
}

/// Escapes what JSON requires (quote, backslash, control characters) and leaves
/// everything else, Cyrillic included, as UTF-8 so the line stays readable.
pub(super) fn push_escaped(out: &mut String, s: &str) {
    // Most text needs no escape: find the first byte that does eight at a time,
    // then copy everything before it in one go (a line is mostly clean ASCII/UTF-8).
    let bytes = s.as_bytes();
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[i..i + 8]);
        if needs_escape(u64::from_le_bytes(word)) {
            break;
        }
        i += 8;
    }
    if i + 8 > bytes.len() {
        // The last few bytes (most keys and values are shorter than eight),
        // padded with spaces, which need no escape, in one more look.
        let mut word = [b' '; 8];
        word[..bytes.len() - i].copy_from_slice(&bytes[i..]);
        if !needs_escape(u64::from_le_bytes(word)) {
            out.push_str(s);
            return;
        }
    }
    match bytes[i..].iter().position(|&b| escape_of(b).is_some()) {
        None => out.push_str(s),
        Some(at) => push_escaped_from(out, s, i + at),
    }
}

/// Whether any of the eight bytes is below 0x20, `"` or `\` (exact: bytes of
/// 0x80 and up, UTF-8's multi-byte sequences, never match).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    (below_space | zero_in(quote) | zero_in(backslash)) != 0
}

/// JSON's escape for `b`, or `None` when it goes out as it is. Control
/// characters without a short form are `\u00XX` (the empty string here).
fn escape_of(b: u8) -> Option<&'static str> {
    match b {
        b'"' => Some("\\\""),
        b'\\' => Some("\\\\"),
        b'\n' => Some("\\n"),
        b'\r' => Some("\\r"),
        b'\t' => Some("\\t"),
        0x08 => Some("\\b"),
        0x0c => Some("\\f"),
        0..=0x1f => Some(""),
        _ => None,
    }
}

/// The slow path, from the first byte that needs an escape.
fn push_escaped_from(out: &mut String, s: &str, first: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut clean = 0;
    for (i, &b) in s.as_bytes().iter().enumerate().skip(first) {
        let Some(escape) = escape_of(b) else { continue };
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

/// An integer in decimal, without `core::fmt`'s machinery (a few times faster).
pub(super) fn push_int(out: &mut String, value: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// `2024-05-01T12:34:56.123456Z`, computed by hand: chrono's formatting
/// machinery costs several times more, once per line.
pub(super) fn push_timestamp(out: &mut String, since_epoch: Duration) {
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
    use super::*;
    use proptest::prelude::*;

    fn escaped(s: &str) -> String {
        let mut out = String::new();
        push_escaped(&mut out, s);
        out
    }

    #[test]
    fn the_word_at_a_time_look_finds_every_byte_that_needs_an_escape() {
        for b in 0u8..=0x7f {
            let byte = char::from(b).to_string();
            let mut slow = String::new();
            push_escaped_from(&mut slow, &byte, 0);
            // At each position of a long and a short clean run.
            for s in
                [format!("{byte}abcdefghij"), format!("abcdefghi{byte}"), format!("ab{byte}"), byte.clone()]
            {
                let want = s.replace(&byte, &slow);
                assert_eq!(escaped(&s), want, "byte {b:#04x} in {s:?}");
            }
        }
        assert_eq!(escaped("привет, \"мир\"\n"), "привет, \\\"мир\\\"\\n");
        assert_eq!(escaped(""), "");
    }

    proptest! {
        #[test]
        fn any_text_reads_back_as_json(s in any::<String>()) {
            let line = format!("\"{}\"", escaped(&s));
            let back: String = serde_json::from_str(&line).expect("a JSON string");
            prop_assert_eq!(back, s);
        }
    }

    #[test]
    fn integers_are_written_in_decimal() {
        let mut out = String::new();
        push_int(&mut out, -42i64);
        push_int(&mut out, u64::MAX);
        assert_eq!(out, format!("-42{}", u64::MAX));
    }
}
