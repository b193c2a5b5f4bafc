//! How reports look to a Russian-speaking user: dates, sizes, search types.

use chrono::NaiveDateTime;

/// `15.01.2025 14:30`
pub fn date_time(t: &NaiveDateTime) -> String {
    t.format("%d.%m.%Y %H:%M").to_string()
}

/// `15.01.2025`
pub fn date(t: &NaiveDateTime) -> String {
    t.format("%d.%m.%Y").to_string()
}

/// `512 Б`, `12.3 КБ`, `4.0 МБ`
pub fn size(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KB {
        format!("{bytes} Б")
    } else if b < KB * KB {
        format!("{:.1} КБ", b / KB)
    } else {
        format!("{:.1} МБ", b / KB / KB)
    }
}

/// `fast` → `быстрый`, `deep` → `глубокий`, anything else as stored.
pub fn search_type(t: &str) -> &str {
    match t {
        "fast" => "быстрый",
        "deep" => "глубокий",
        other => other,
    }
}

/// At most `max` characters, with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// At most `max` UTF-16 code units — how Telegram measures texts and
/// captions (an emoji outside the BMP is two) —, with `…` when cut.
pub fn truncate_units(text: &str, max: usize) -> String {
    if text.encode_utf16().count() <= max {
        return text.to_owned();
    }
    let budget = max.saturating_sub(1);
    let mut used = 0;
    let mut out = String::new();
    for c in text.chars() {
        used += c.len_utf16();
        if used > budget {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_are_cut_in_utf16_code_units() {
        assert_eq!(truncate_units("Отчет", 10), "Отчет");
        let cut = truncate_units(&"😀".repeat(600), 1024);
        assert!(cut.encode_utf16().count() <= 1024, "{}", cut.encode_utf16().count());
        assert!(cut.ends_with('…'));
        assert_eq!(truncate_units("😀😀😀", 4), "😀…");
    }

    #[test]
    fn sizes_dates_and_types_read_naturally() {
        assert_eq!(size(512), "512 Б");
        assert_eq!(size(12_600), "12.3 КБ");
        assert_eq!(size(4 * 1024 * 1024), "4.0 МБ");
        let t = NaiveDateTime::parse_from_str("2025-01-15 14:30:09", "%Y-%m-%d %H:%M:%S").expect("date");
        assert_eq!(date_time(&t), "15.01.2025 14:30");
        assert_eq!(date(&t), "15.01.2025");
        assert_eq!(search_type("deep"), "глубокий");
        assert_eq!(search_type("other"), "other");
        assert_eq!(truncate("Отчет", 10), "Отчет");
        assert_eq!(truncate("Очень длинное название", 6), "Очень…");
    }
}
