//! One `index.json` entry: lenient reading of its fields from the raw JSON text, and edits that
//! keep everything but the changed value byte-for-byte.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::model::Report;
use super::timestamp;

/// Default for a missing `search_type`: what the old bot used.
const DEFAULT_SEARCH_TYPE: &str = "fast";

/// Why an entry is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Malformed {
    NotAnObject,
    Missing(&'static str),
    Invalid(&'static str),
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::NotAnObject => f.write_str("not a JSON object"),
            Malformed::Missing(field) => write!(f, "missing field `{field}`"),
            Malformed::Invalid(field) => write!(f, "invalid field `{field}`"),
        }
    }
}

/// An entry as kept in memory: its JSON text (written back verbatim) and, when well-formed, the report.
#[derive(Debug)]
pub(crate) struct Entry {
    pub raw: Box<RawValue>,
    pub report: Option<Report>,
}

impl Entry {
    /// Parses `raw`; a malformed entry is still an `Entry` (without report) so it can be written back.
    pub fn parse(raw: Box<RawValue>) -> (Entry, Option<Malformed>) {
        match parse_report(&raw) {
            Ok(report) => (Entry { raw, report: Some(report) }, None),
            Err(why) => (Entry { raw, report: None }, Some(why)),
        }
    }

    /// A brand-new entry with the fields (and their order) the old bot wrote.
    pub fn new(report: Report, timestamp_text: &str) -> Result<Entry, serde_json::Error> {
        let fields = NewEntry {
            file_path: &report.file_path,
            user_id: report.user_id,
            username: report.username.as_deref(),
            timestamp: timestamp_text,
            question: &report.title,
            size_bytes: report.size_bytes,
            tokens: report.tokens,
            search_type: &report.search_type,
            report_number: report.number,
            job_id: report.job_id.as_deref(),
        };
        let raw = RawValue::from_string(serde_json::to_string(&fields)?)?;
        Ok(Entry { raw, report: Some(report) })
    }
}

#[derive(Serialize)]
struct NewEntry<'a> {
    file_path: &'a str,
    user_id: i64,
    username: Option<&'a str>,
    timestamp: &'a str,
    question: &'a str,
    size_bytes: u64,
    tokens: u64,
    search_type: &'a str,
    report_number: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_id: Option<&'a str>,
}

/// Reads the report out of an entry's JSON text.
pub(crate) fn parse_report(raw: &RawValue) -> Result<Report, Malformed> {
    let members = Members::parse(raw)?;
    let timestamp_text: String = members.required("timestamp")?;
    Ok(Report {
        number: members.required("report_number")?,
        file_path: members.required("file_path")?,
        user_id: members.required("user_id")?,
        username: members.optional("username"),
        title: members.required("question")?,
        timestamp: timestamp::parse(&timestamp_text).ok_or(Malformed::Invalid("timestamp"))?,
        size_bytes: members.optional("size_bytes").unwrap_or(0),
        tokens: members.optional("tokens").unwrap_or(0),
        search_type: members.optional("search_type").unwrap_or_else(|| DEFAULT_SEARCH_TYPE.to_owned()),
        job_id: members.optional("job_id"),
    })
}

/// The `file_path` of any entry that has one as a string, well-formed or not.
pub(crate) fn file_path_of(raw: &RawValue) -> Option<String> {
    Members::parse(raw).ok()?.optional("file_path")
}

/// The entry's text with every `question` value replaced by `title`, all other bytes unchanged.
pub(crate) fn with_question(raw: &RawValue, title: &str) -> Result<Box<RawValue>, serde_json::Error> {
    let text = raw.get();
    let members: Members<'_> = serde_json::from_str(text)?;
    let title_json = serde_json::to_string(title)?;
    let mut out = String::with_capacity(text.len() + title_json.len());
    let mut copied = 0;
    for (key, value) in &members.0 {
        if key != "question" {
            continue;
        }
        // The borrowed raw value is a slice of `text`, so its address gives its byte range. Checked
        // rather than trusted: if it ever is not, the entry is rebuilt member by member instead.
        let start = (value.get().as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
        let end = start.wrapping_add(value.get().len());
        if start < copied || text.get(start..end) != Some(value.get()) {
            return rebuild_with_question(&members, &title_json);
        }
        out.push_str(&text[copied..start]);
        out.push_str(&title_json);
        copied = end;
    }
    out.push_str(&text[copied..]);
    RawValue::from_string(out)
}

fn rebuild_with_question(
    members: &Members<'_>,
    title_json: &str,
) -> Result<Box<RawValue>, serde_json::Error> {
    let mut out = String::from("{");
    for (i, (key, value)) in members.0.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key)?);
        out.push(':');
        out.push_str(if key == "question" { title_json } else { value.get() });
    }
    out.push('}');
    RawValue::from_string(out)
}

/// An object's members in file order with their values still raw (borrowed from the entry text).
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> Members<'a> {
    fn parse(raw: &'a RawValue) -> Result<Members<'a>, Malformed> {
        if !raw.get().trim_start().starts_with('{') {
            return Err(Malformed::NotAnObject);
        }
        serde_json::from_str(raw.get()).map_err(|_| Malformed::NotAnObject)
    }

    /// Python's `json.loads` keeps the last of duplicate keys, so do we.
    fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0.iter().rev().find(|(key, _)| key == name).map(|(_, value)| *value)
    }

    fn required<T: DeserializeOwned>(&self, name: &'static str) -> Result<T, Malformed> {
        let value = self.get(name).ok_or(Malformed::Missing(name))?;
        serde_json::from_str(value.get()).map_err(|_| Malformed::Invalid(name))
    }

    /// Missing, `null` or of the wrong type all read as `None`: these fields only inform.
    fn optional<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.get(name).and_then(|value| serde_json::from_str::<Option<T>>(value.get()).ok().flatten())
    }
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(10));
                while let Some(Key(key)) = map.next_key()? {
                    members.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// A member name, borrowed unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).expect("valid JSON")
    }

    const FULL: &str = r#"{"file_path": "user_7/voxpersona_20250115_143000.txt", "user_id": 7, "username": "ann",
        "timestamp": "2025-01-15T14:30:00.123456+03:00", "question": "Отчёт", "size_bytes": 10, "tokens": 5,
        "search_type": "deep", "report_number": 3, "extra": {"nested": [1, 2.50, "x"]}}"#;

    #[test]
    fn reads_all_fields() {
        let report = parse_report(&raw(FULL)).expect("well-formed");
        assert_eq!(report.number, 3);
        assert_eq!(report.user_id, 7);
        assert_eq!(report.username.as_deref(), Some("ann"));
        assert_eq!(report.title, "Отчёт");
        assert_eq!(report.search_type, "deep");
        assert_eq!((report.size_bytes, report.tokens), (10, 5));
        assert_eq!(timestamp::format(report.timestamp), "2025-01-15T14:30:00.123456");
    }

    #[test]
    fn optional_fields_default() {
        let text = r#"{"file_path":"user_1/a.txt","user_id":1,"timestamp":"2025-01-15T14:30:00","question":"q","report_number":1,"username":null,"tokens":"many"}"#;
        let report = parse_report(&raw(text)).expect("well-formed");
        assert_eq!(report.username, None);
        assert_eq!((report.size_bytes, report.tokens), (0, 0));
        assert_eq!(report.search_type, "fast");
    }

    #[test]
    fn reports_why_an_entry_is_malformed() {
        let base =
            r#""file_path":"user_1/a.txt","user_id":1,"timestamp":"2025-01-15T14:30:00","question":"q""#;
        assert_eq!(parse_report(&raw("[1]")), Err(Malformed::NotAnObject));
        assert_eq!(parse_report(&raw("null")), Err(Malformed::NotAnObject));
        assert_eq!(parse_report(&raw(&format!("{{{base}}}"))), Err(Malformed::Missing("report_number")));
        let negative = format!(r#"{{{base},"report_number":-1}}"#);
        assert_eq!(parse_report(&raw(&negative)), Err(Malformed::Invalid("report_number")));
        let bad_ts = format!(r#"{{{},"report_number":1}}"#, base.replace("2025-01-15T14:30:00", "soon"));
        assert_eq!(parse_report(&raw(&bad_ts)), Err(Malformed::Invalid("timestamp")));
        let string_user =
            format!(r#"{{{},"report_number":1}}"#, base.replace(r#""user_id":1"#, r#""user_id":"1""#));
        assert_eq!(parse_report(&raw(&string_user)), Err(Malformed::Invalid("user_id")));
    }

    #[test]
    fn with_question_changes_only_the_title() {
        let edited = with_question(&raw(FULL), "Новый \"title\"").expect("edit");
        let expected = FULL.replace(r#""question": "Отчёт""#, r#""question": "Новый \"title\"""#);
        assert_eq!(edited.get(), expected);
        assert_eq!(parse_report(&edited).expect("still well-formed").title, "Новый \"title\"");
    }

    #[test]
    fn with_question_handles_escaped_keys_and_duplicates() {
        let text = r#"{"question":"a","qu\u0065stion":"b","x":1}"#;
        let edited = with_question(&raw(text), "c").expect("edit");
        assert_eq!(edited.get(), r#"{"question":"c","qu\u0065stion":"c","x":1}"#);
    }

    #[test]
    fn new_entry_has_the_legacy_field_order() {
        let report = parse_report(&raw(FULL)).expect("well-formed");
        let entry = Entry::new(report.clone(), "2025-01-15T14:30:00").expect("encode");
        assert!(
            entry
                .raw
                .get()
                .starts_with(r#"{"file_path":"user_7/voxpersona_20250115_143000.txt","user_id":7,"#)
        );
        assert!(entry.raw.get().ends_with(r#""search_type":"deep","report_number":3}"#));
        assert!(entry.raw.get().contains("Отчёт"), "non-ASCII must stay unescaped");
        assert_eq!(file_path_of(&entry.raw).as_deref(), Some("user_7/voxpersona_20250115_143000.txt"));
    }
}
