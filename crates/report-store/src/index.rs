//! The in-memory index: every entry of `index.json` in file order, a per-user lookup, parsing of
//! the file and writing it back without re-serializing untouched entries.

use std::collections::HashMap;
use std::io::{self, Write};

use serde_json::value::RawValue;

use super::entry::{Entry, Malformed};
use super::model::Report;

/// The parsed index. Positions are indices into `entries` (file order).
#[derive(Debug, Default)]
pub(crate) struct Index {
    entries: Vec<Entry>,
    by_user: HashMap<i64, Vec<usize>>,
    malformed: usize,
}

/// A change to the index, written to disk first and then applied to the cache.
#[derive(Debug)]
pub(crate) enum Edit {
    Remove(usize),
    Replace(usize, Entry),
    /// New entries at the end, in order.
    Append(Vec<Entry>),
}

impl Index {
    /// Parses the file's bytes; `Err` means the file is not a JSON array (the caller refuses writes).
    /// Malformed entries are kept, and reported with their position for logging.
    pub fn parse(bytes: &[u8]) -> Result<(Index, Vec<(usize, Malformed)>), String> {
        let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let raws: Vec<Box<RawValue>> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut index = Index { entries: Vec::with_capacity(raws.len()), ..Index::default() };
        let mut problems = Vec::new();
        for (position, raw) in raws.into_iter().enumerate() {
            let (entry, problem) = Entry::parse(raw);
            if let Some(why) = problem {
                problems.push((position, why));
            }
            index.push(entry);
        }
        Ok((index, problems))
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn malformed(&self) -> usize {
        self.malformed
    }

    /// The user's well-formed reports in file order.
    pub fn reports_of(&self, user: i64) -> impl Iterator<Item = &Report> {
        let positions = self.by_user.get(&user).map(Vec::as_slice).unwrap_or_default();
        positions.iter().filter_map(|&p| self.entries.get(p).and_then(|e| e.report.as_ref()))
    }

    /// Position of the user's entry with this number and path (the identity of a report).
    pub fn find(&self, user: i64, number: u32, file_path: &str) -> Option<usize> {
        let positions = self.by_user.get(&user)?;
        positions
            .iter()
            .copied()
            .find(|&p| self.report(p).is_some_and(|r| r.number == number && r.file_path == file_path))
    }

    pub fn report(&self, position: usize) -> Option<&Report> {
        self.entries.get(position).and_then(|e| e.report.as_ref())
    }

    pub fn highest_number(&self, user: i64) -> Option<u32> {
        self.reports_of(user).map(|r| r.number).max()
    }

    /// Writes the index as it will be after `edit`: `[\n` + entries joined by `,\n` + `\n]\n`.
    pub fn write_to(&self, out: &mut impl Write, edit: &Edit) -> io::Result<()> {
        let mut first = true;
        let mut emit = |raw: &RawValue| -> io::Result<()> {
            out.write_all(if first { b"[\n" } else { b",\n" })?;
            first = false;
            out.write_all(raw.get().as_bytes())
        };
        for (position, entry) in self.entries.iter().enumerate() {
            match edit {
                Edit::Remove(p) if *p == position => {}
                Edit::Replace(p, new) if *p == position => emit(&new.raw)?,
                _ => emit(&entry.raw)?,
            }
        }
        if let Edit::Append(new) = edit {
            for entry in new {
                emit(&entry.raw)?;
            }
        }
        out.write_all(if first { b"[]\n" } else { b"\n]\n" })
    }

    /// Applies an edit already written to disk; positions after a removal shift down by one.
    pub fn apply(&mut self, edit: Edit) {
        match edit {
            Edit::Append(entries) => entries.into_iter().for_each(|e| self.push(e)),
            Edit::Replace(position, entry) if position < self.entries.len() => {
                self.forget(position);
                self.remember(position, &entry);
                self.entries[position] = entry;
            }
            Edit::Remove(position) if position < self.entries.len() => {
                self.forget(position);
                self.entries.remove(position);
                for positions in self.by_user.values_mut() {
                    positions.iter_mut().filter(|p| **p > position).for_each(|p| *p -= 1);
                }
            }
            Edit::Replace(..) | Edit::Remove(_) => {}
        }
    }

    fn push(&mut self, entry: Entry) {
        let position = self.entries.len();
        self.remember(position, &entry);
        self.entries.push(entry);
    }

    fn remember(&mut self, position: usize, entry: &Entry) {
        match &entry.report {
            Some(report) => self.by_user.entry(report.user_id).or_default().push(position),
            None => self.malformed += 1,
        }
    }

    fn forget(&mut self, position: usize) {
        match self.entries.get(position).and_then(|e| e.report.as_ref()) {
            Some(report) => {
                if let Some(positions) = self.by_user.get_mut(&report.user_id) {
                    positions.retain(|&p| p != position);
                    if positions.is_empty() {
                        self.by_user.remove(&report.user_id);
                    }
                }
            }
            None => self.malformed = self.malformed.saturating_sub(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry;

    const SAMPLE: &str = "[\n  {\"file_path\": \"user_1/a.txt\", \"user_id\": 1, \"timestamp\": \"2025-01-15T14:30:00\", \
        \"question\": \"a\", \"report_number\": 1},\n  42,\n  {\"file_path\": \"user_2/b.txt\", \"user_id\": 2, \
        \"timestamp\": \"2025-01-16T14:30:00\", \"question\": \"b\", \"report_number\": 1},\n  {\"user_id\": 1}\n]";

    fn render(index: &Index, edit: &Edit) -> String {
        let mut out = Vec::new();
        index.write_to(&mut out, edit).expect("write to memory");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn parses_and_counts_malformed() {
        let (index, problems) = Index::parse(SAMPLE.as_bytes()).expect("array");
        assert_eq!(index.entries().len(), 4);
        assert_eq!(index.malformed(), 2);
        assert_eq!(problems, vec![(1, Malformed::NotAnObject), (3, Malformed::Missing("timestamp"))]);
        assert_eq!(index.reports_of(1).count(), 1);
        assert_eq!(index.find(2, 1, "user_2/b.txt"), Some(2));
        assert_eq!(index.find(2, 1, "user_2/other.txt"), None);
    }

    #[test]
    fn top_level_must_be_an_array() {
        assert!(Index::parse(b"{\"a\": 1}").is_err());
        assert!(Index::parse(b"[1, 2").is_err());
        assert!(Index::parse(b"").is_err());
        assert!(Index::parse(b"\xff[]").is_err());
        assert!(Index::parse("\u{feff}[]".as_bytes()).is_ok());
    }

    #[test]
    fn rewrite_keeps_raw_text_and_applies_edits() {
        let (mut index, _) = Index::parse(SAMPLE.as_bytes()).expect("array");
        let unchanged = render(&index, &Edit::Remove(usize::MAX));
        let entries: Vec<&str> =
            SAMPLE.trim_start_matches("[\n  ").trim_end_matches("\n]").split(",\n  ").collect();
        assert_eq!(unchanged, format!("[\n{}\n]\n", entries.join(",\n")));

        let removed = render(&index, &Edit::Remove(0));
        index.apply(Edit::Remove(0));
        assert_eq!(removed, render(&index, &Edit::Remove(usize::MAX)));
        assert_eq!(index.find(2, 1, "user_2/b.txt"), Some(1));
        assert_eq!(index.reports_of(1).count(), 0);

        let renamed = entry::with_question(&index.entries()[1].raw, "new").expect("edit");
        let (replacement, _) = Entry::parse(renamed);
        index.apply(Edit::Replace(1, replacement));
        assert_eq!(index.reports_of(2).next().map(|r| r.title.as_str()), Some("new"));
        assert_eq!(index.malformed(), 2);
    }

    #[test]
    fn empty_index_is_an_empty_array() {
        let index = Index::default();
        assert_eq!(render(&index, &Edit::Remove(0)), "[]\n");
        let (index, _) = Index::parse(b"[]").expect("array");
        assert_eq!(index.entries().len(), 0);
    }
}
