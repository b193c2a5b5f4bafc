//! Narrowing a list: words that must all appear in the title and an optional
//! date range, typed as `встреча 01.01.2025-31.03.2025`.

use chrono::NaiveDate;

use crate::storage::Report;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// Lower-cased words; a title must contain every one.
    pub words: Vec<String>,
    /// First day included.
    pub from: Option<NaiveDate>,
    /// Last day included.
    pub to: Option<NaiveDate>,
}

/// Why a filter text is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// Nothing to filter by.
    Empty,
    /// A date that does not exist or is not `ДД.ММ.ГГГГ`.
    BadDate(String),
    /// The range ends before it starts.
    Reversed,
}

fn parse_date(s: &str) -> Result<NaiveDate, FilterError> {
    NaiveDate::parse_from_str(s, "%d.%m.%Y").map_err(|_| FilterError::BadDate(s.to_owned()))
}

fn looks_like_date(token: &str) -> bool {
    token.chars().next().is_some_and(|c| c.is_ascii_digit()) && token.contains('.')
}

/// Parses `words… [ДД.ММ.ГГГГ[-ДД.ММ.ГГГГ]]`; one date means that single day.
pub fn parse(text: &str) -> Result<Filter, FilterError> {
    let mut filter = Filter::default();
    for token in text.split_whitespace() {
        if looks_like_date(token) {
            let (from, to) = match token.split_once(['-', '–', '—']) {
                Some((a, b)) => (parse_date(a)?, parse_date(b)?),
                None => {
                    let d = parse_date(token)?;
                    (d, d)
                }
            };
            if to < from {
                return Err(FilterError::Reversed);
            }
            filter.from = Some(from);
            filter.to = Some(to);
        } else {
            filter.words.push(token.to_lowercase());
        }
    }
    if filter.words.is_empty() && filter.from.is_none() {
        return Err(FilterError::Empty);
    }
    Ok(filter)
}

impl Filter {
    /// Whether a report passes.
    pub fn matches(&self, report: &Report) -> bool {
        let day = report.timestamp.date();
        if self.from.is_some_and(|f| day < f) || self.to.is_some_and(|t| day > t) {
            return false;
        }
        if self.words.is_empty() {
            return true;
        }
        let title = report.title.to_lowercase();
        self.words.iter().all(|w| title.contains(w.as_str()))
    }

    /// The filter as the user typed it, normalized, for captions.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.words.iter().map(|w| format!("«{w}»")).collect();
        if let (Some(f), Some(t)) = (self.from, self.to) {
            parts.push(if f == t {
                f.format("%d.%m.%Y").to_string()
            } else {
                format!("{}–{}", f.format("%d.%m.%Y"), t.format("%d.%m.%Y"))
            });
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(title: &str, ts: &str) -> Report {
        Report {
            number: 1,
            file_path: "user_1/a.txt".into(),
            user_id: 1,
            username: None,
            title: title.into(),
            timestamp: chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S").expect("ts"),
            size_bytes: 1,
            tokens: 1,
            search_type: "fast".into(),
            job_id: None,
        }
    }

    #[test]
    fn words_and_ranges_parse_and_match() {
        let f = parse("Встреча 01.01.2025-31.03.2025").expect("valid");
        assert_eq!(f.words, ["встреча"]);
        assert!(f.matches(&report("Итоги встречи? нет, Встреча с клиентом", "2025-02-01T10:00:00")));
        assert!(!f.matches(&report("Встреча", "2025-04-01T00:00:00")));
        assert!(!f.matches(&report("Звонок", "2025-02-01T10:00:00")));
        let day = parse("15.01.2025").expect("one day");
        assert!(day.matches(&report("Что угодно", "2025-01-15T23:59:59")));
        assert!(!day.matches(&report("Что угодно", "2025-01-16T00:00:00")));
        assert_eq!(day.describe(), "15.01.2025");
    }

    #[test]
    fn bad_filters_say_why() {
        assert_eq!(parse("   "), Err(FilterError::Empty));
        assert_eq!(parse("32.01.2025"), Err(FilterError::BadDate("32.01.2025".into())));
        assert_eq!(parse("31.03.2025-01.01.2025"), Err(FilterError::Reversed));
    }
}
