//! Property tests over what files can hold: any JSON as index entries (and as
//! the whole index) — the store opens or refuses with a named error, lists,
//! keeps every entry it cannot read in the file, and saves above every number.

use proptest::prelude::*;
use serde_json::Value;

use super::super::testutil::{TempDir, legacy_entry, read_index, write_legacy};
use super::{new_report, open};
use crate::{Storage, StorageError};

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        Just(Value::from("user_1/../../etc/passwd")),
        Just(Value::from("2025-01-15T14:30:00")),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A legacy entry with one field replaced by any JSON, or removed.
fn entry_like() -> impl Strategy<Value = Value> {
    let fields = prop::sample::select(vec![
        "file_path",
        "user_id",
        "username",
        "timestamp",
        "question",
        "size_bytes",
        "tokens",
        "search_type",
        "report_number",
        "job_id",
    ]);
    (1u32..5, fields, prop::option::of(json())).prop_map(|(n, field, value)| {
        let mut entry = legacy_entry(1, n + 1, "2025-01-16T10:00:00", "x");
        if let Some(map) = entry.as_object_mut() {
            match value {
                Some(v) => drop(map.insert(field.to_owned(), v)),
                None => drop(map.remove(field)),
            }
        }
        entry
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_entries_open_list_and_survive_a_save(
        odd in prop::collection::vec(prop_oneof![json(), entry_like()], 0..8),
    ) {
        open_list_and_save_beside(&odd)?;
    }

    #[test]
    fn any_json_as_the_whole_index_opens_or_is_refused_by_name(index in json()) {
        let tmp = TempDir::new("prop-index");
        std::fs::write(tmp.path().join("index.json"), index.to_string()).expect("write");
        match Storage::open(tmp.path()).and_then(|s| s.list_blocking(1)) {
            Ok(_) => prop_assert!(index.is_array()),
            Err(e @ StorageError::CorruptIndex { .. }) => {
                prop_assert!(!index.is_array());
                prop_assert!(e.to_string().contains("index.json"), "{}", e);
            }
            Err(e) => prop_assert!(false, "unexpected error {}", e),
        }
    }
}

/// The valid entry is listed whatever `odd` holds, the next save goes above
/// every listed number, and every entry stays in the file.
fn open_list_and_save_beside(odd: &[Value]) -> Result<(), TestCaseError> {
    let tmp = TempDir::new("prop-entries");
    let mut entries = vec![legacy_entry(1, 1, "2025-01-15T14:30:00", "valid")];
    entries.extend(odd.iter().cloned());
    write_legacy(tmp.path(), &entries);
    let storage = open(tmp.path());
    let listed = storage.list_blocking(1).expect("lists");
    prop_assert!(listed.iter().any(|r| r.title == "valid"), "the valid entry is listed");
    let highest = listed.iter().map(|r| r.number).max().unwrap_or(0);
    let saved = storage.save_report_blocking(new_report(1, "new", None)).expect("saves");
    prop_assert!(saved.number > highest);
    prop_assert_eq!(read_index(tmp.path()).len(), entries.len() + 1, "every entry kept in the file");
    Ok(())
}

/// Paths the generator once found (an empty `file_path`) and its kin: each
/// entry stays dangling in the file and the rest of the store works.
#[test]
fn entries_with_an_empty_absolute_or_climbing_path_open_list_and_survive_a_save() {
    for path in ["", "/", "/etc/passwd", "..", "user_1/../../x", "."] {
        let mut entry = legacy_entry(1, 2, "2025-01-16T10:00:00", "x");
        entry["file_path"] = Value::from(path);
        open_list_and_save_beside(&[entry]).unwrap_or_else(|e| panic!("file_path {path:?}: {e}"));
    }
}
