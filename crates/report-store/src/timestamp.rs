//! Timestamps as Python's `datetime.isoformat()` writes them, parsed leniently and formatted alike.

use chrono::{NaiveDateTime, Timelike};

/// Parses `2025-01-15T14:30:00`, with optional `.ffffff` and optional `+03:00`/`Z` offset.
///
/// The offset is dropped and the wall-clock time kept: that is the time the user saw when the
/// report was made, and the old bot wrote naive local times anyway.
pub(crate) fn parse(text: &str) -> Option<NaiveDateTime> {
    let naive = strip_offset(text.trim())?;
    // `%.f` also accepts a missing fraction; a space separator and missing seconds are tolerated
    // because hand-edited indexes have them.
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(naive, format).ok())
}

/// Formats like Python's `isoformat()`: microseconds only when non-zero.
pub(crate) fn format(ts: NaiveDateTime) -> String {
    if ts.nanosecond() / 1_000 == 0 {
        ts.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        ts.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// Local now truncated to whole seconds, matching the `%Y-%m-%dT%H:%M:%S` the old bot wrote.
pub(crate) fn now_local() -> NaiveDateTime {
    let now = chrono::Local::now().naive_local();
    now.with_nanosecond(0).unwrap_or(now)
}

fn strip_offset(text: &str) -> Option<&str> {
    if let Some(rest) = text.strip_suffix(['Z', 'z']) {
        return Some(rest);
    }
    // The date part is `YYYY-MM-DD`; a sign after it can only start an offset.
    let tail = text.get(10..)?;
    match tail.rfind(['+', '-']) {
        None => Some(text),
        Some(at) => {
            let (naive, offset) = text.split_at(10 + at);
            valid_offset(offset).then_some(naive)
        }
    }
}

/// `±HH:MM`, `±HHMM`, `±HH:MM:SS[.ffffff]` (Python can emit seconds in offsets).
fn valid_offset(offset: &str) -> bool {
    let body = &offset[1..];
    let bytes = body.as_bytes();
    bytes.len() >= 4
        && bytes[..2].iter().all(u8::is_ascii_digit)
        && bytes.iter().all(|b| b.is_ascii_digit() || *b == b':' || *b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32, m: u32, s: u32, micro: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2025, 1, 15)
            .and_then(|d| d.and_hms_micro_opt(h, m, s, micro))
            .expect("valid test date")
    }

    #[test]
    fn parses_python_isoformat_variants() {
        assert_eq!(parse("2025-01-15T14:30:00"), Some(at(14, 30, 0, 0)));
        assert_eq!(parse("2025-01-15T14:30:00.123456"), Some(at(14, 30, 0, 123_456)));
        assert_eq!(parse("2025-01-15T14:30:00+03:00"), Some(at(14, 30, 0, 0)));
        assert_eq!(parse("2025-01-15T14:30:00.5-05:30"), Some(at(14, 30, 0, 500_000)));
        assert_eq!(parse("2025-01-15T14:30:00+03:00:30"), Some(at(14, 30, 0, 0)));
        assert_eq!(parse("2025-01-15T14:30:00Z"), Some(at(14, 30, 0, 0)));
        assert_eq!(parse("2025-01-15 14:30:00"), Some(at(14, 30, 0, 0)));
        assert_eq!(parse("2025-01-15T14:30"), Some(at(14, 30, 0, 0)));
    }

    #[test]
    fn rejects_garbage() {
        for bad in
            ["", "yesterday", "2025-01-15", "2025-13-15T14:30:00", "2025-01-15T14:30:00+xx", "2025-01-15Tя"]
        {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats_like_python() {
        assert_eq!(format(at(14, 30, 0, 0)), "2025-01-15T14:30:00");
        assert_eq!(format(at(14, 30, 0, 123_456)), "2025-01-15T14:30:00.123456");
        assert_eq!(now_local().nanosecond(), 0);
    }
}
