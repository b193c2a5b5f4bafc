//! Property tests over config files: random edits of the shipped defaults
//! (lines dropped, doubled, values replaced by anything, junk inserted) load
//! or are refused with a message — never a panic.

use proptest::prelude::*;

use super::{DEFAULT_TOML, Sources};

#[derive(Debug, Clone)]
enum Edit {
    Drop(usize),
    Double(usize),
    Value(usize, String),
    Insert(usize, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    let line = 0..DEFAULT_TOML.lines().count();
    prop_oneof![
        line.clone().prop_map(Edit::Drop),
        line.clone().prop_map(Edit::Double),
        (
            line.clone(),
            prop_oneof![any::<String>(), "-?[0-9]{1,25}", Just("\"\"".into()), "\\[[a-z.]{0,10}\\]"]
        )
            .prop_map(|(l, v)| Edit::Value(l, v)),
        (line, any::<String>()).prop_map(|(l, v)| Edit::Insert(l, v)),
    ]
}

fn apply(edits: &[Edit]) -> String {
    let mut lines: Vec<String> = DEFAULT_TOML.lines().map(str::to_owned).collect();
    for e in edits {
        let n = lines.len().max(1);
        match e {
            Edit::Drop(i) if !lines.is_empty() => drop(lines.remove(i % n)),
            Edit::Double(i) if !lines.is_empty() => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Edit::Value(i, v) if !lines.is_empty() => {
                let l = &mut lines[i % n];
                if let Some((key, _)) = l.split_once('=') {
                    *l = format!("{key}= {v}");
                }
            }
            Edit::Insert(i, v) => lines.insert(i % n, v.clone()),
            _ => {}
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn an_edited_config_loads_or_is_refused_with_a_message(edits in prop::collection::vec(edit(), 1..5)) {
        let text = apply(&edits);
        if let Err(e) = Sources::default().load_text(&text) {
            prop_assert!(!e.0.trim().is_empty(), "an empty refusal for {:?}", edits);
        }
    }
}
