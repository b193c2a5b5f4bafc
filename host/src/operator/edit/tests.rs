//! Edits keep everything they do not change; files are replaced atomically.

use super::*;
use EditValue::{Bool, Float, Int, Str};

const R: &str = "plugins.my_reports.rollout";
const CONFIG: &str = r#"# Operator config
[plugins.my_reports]
version = "v1"
[plugins.my_reports.versions]
v1 = true
[plugins.my_reports.rollout]
stable = "v1"          # who is not selected gets this
percent = 5            # 0..=100 (fractions allowed)
allow = [111, 222]     # user ids that always get the candidate
kill  = false          # true: everyone gets stable, at once
salt  = "my-reports-v2"

# the server
[server]
port = 8080
"#;

/// A key under `plugins.my_reports.rollout` unless it starts with `plugins`.
fn path(key: &str) -> Vec<String> {
    let full = if key.starts_with("plugins") { key.to_owned() } else { format!("{R}.{key}") };
    full.split('.').map(str::to_owned).collect()
}
fn set(key: &str, value: EditValue) -> Edit {
    Edit::Set { path: path(key), value }
}
fn add(key: &str, value: i64) -> Edit {
    Edit::Add { path: path(key), value }
}
fn rm(key: &str, value: i64) -> Edit {
    Edit::Remove { path: path(key), value }
}
/// The edited text is `text` with the first `from` replaced by `to`, and it re-parses.
fn check(text: &str, edits: &[Edit], from: &str, to: &str) {
    assert!(text.contains(from), "{from:?} not in the text");
    let out = apply(text, edits).expect("the edit applies");
    assert_eq!(out, text.replacen(from, to, 1));
    out.parse::<DocumentMut>().expect("the output re-parses");
}

#[test]
fn a_changed_value_keeps_its_comment_and_the_rest_stays_byte_for_byte() {
    check(CONFIG, &[], "", "");
    check(CONFIG, &[set("percent", Int(25))], "percent = 5 ", "percent = 25 ");
    check(CONFIG, &[set("percent", Float(0.5))], "percent = 5 ", "percent = 0.5 ");
    check(CONFIG, &[set("kill", Bool(true))], "false", "true");
    check(CONFIG, &[set("salt", Str("v3".into()))], "my-reports-v2", "v3");
    let crlf = CONFIG.replace('\n', "\r\n");
    check(&crlf, &[set("percent", Int(25))], "5 ", "25 ");
    let doc: DocumentMut =
        apply(CONFIG, &[set("salt", Str("a \"b\"\n".into()))]).expect("edit").parse().expect("toml");
    assert_eq!(doc["plugins"]["my_reports"]["rollout"]["salt"].as_str(), Some("a \"b\"\n"));
}

#[test]
fn set_creates_missing_tables_after_the_plugins_own() {
    check("", &[set("kill", Bool(true))], "", "[plugins.my_reports.rollout]\nkill = true\n");
    let text =
        "[plugins.my_reports]\nversion = \"v1\"\n[plugins.my_reports.versions]\nv1 = true\n\n[server]\n";
    let rollout = "\n[plugins.my_reports.rollout]\npercent = 5\nstable = \"v1\"\n\n[server]";
    check(text, &[set("percent", Int(5)), set("stable", Str("v1".into()))], "\n[server]", rollout);
    let text = "[plugins]\nmy_reports.version = \"v1\"\n\n[server]\n";
    let versions = "\n[plugins.my_reports.versions]\nv2 = true\n\n[server]";
    check(text, &[set("plugins.my_reports.versions.v2", Bool(true))], "\n[server]", versions);
}

#[test]
fn add_and_remove_on_existing_missing_and_duplicate_values() {
    check(CONFIG, &[add("allow", 444)], "222]", "222, 444]");
    check(CONFIG, &[add("allow", 222), rm("allow", 999), rm("deny", 1)], "", "");
    check("", &[rm("allow", 1)], "", "");
    check(CONFIG, &[rm("allow", 111)], "[111, 222]", "[222]");
    check(CONFIG, &[rm("allow", 222)], "[111, 222]", "[111]");
    check(CONFIG, &[rm("allow", 111), rm("allow", 222)], "[111, 222]", "[]");
    check(CONFIG, &[rm("allow", 111), rm("allow", 222), add("allow", 7)], "[111, 222]", "[7]");
    check("[plugins.my_reports.rollout]\nallow = [1, 2, 1]\n", &[rm("allow", 1)], "[1, 2, 1]", "[2]");
    check(CONFIG, &[add("deny", 5), add("deny", 6)], "v2\"\n", "v2\"\ndeny = [5, 6]\n");
}

#[test]
fn multi_line_arrays_keep_their_layout_and_line_comments() {
    let text = "[plugins.my_reports.rollout]\nallow = [\n  111, # alice\n  # admins\n  222, # bob\n]\n";
    check(text, &[add("allow", 333)], "# bob\n", "# bob\n  333,\n");
    check(text, &[rm("allow", 111)], "  111, # alice\n", "");
    check(text, &[rm("allow", 222)], "  222, # bob\n", "");
    let text = "[plugins.my_reports.rollout]\ndeny = [\n  1,\n  2 # two\n]\n";
    check(text, &[add("deny", 3)], "2 # two\n", "2, # two\n  3\n");
    check(text, &[rm("deny", 2)], "1,\n  2 # two\n", "1\n");
    check(text, &[rm("deny", 1)], "  1,\n", "");
    check(text, &[rm("deny", 1), rm("deny", 2)], "\n  1,\n  2 # two\n", "");
}

#[test]
fn dotted_keys_and_inline_tables_are_edited_in_their_own_style() {
    let text = "[plugins]\nmy_reports.rollout.percent = 5 # five\nmy_reports.rollout.allow = [1]\n";
    let edits = [set("percent", Int(6)), add("allow", 2), set("kill", Bool(true))];
    let to = "6 # five\nmy_reports.rollout.allow = [1, 2]\nmy_reports.rollout.kill = true\n";
    check(text, &edits, "5 # five\nmy_reports.rollout.allow = [1]\n", to);
    let text = "[plugins.my_reports]\nrollout = { stable = \"v1\" } # canary\n";
    let edits = [set("percent", Int(10)), add("deny", 3), set("x.y", Int(1))];
    check(text, &edits, "\"v1\" }", "\"v1\", percent = 10, deny = [3], x = { y = 1 } }");
    check(
        "[plugins.my_reports]\nrollout = {}\n",
        &edits,
        "{}",
        "{ percent = 10, deny = [3], x = { y = 1 } }",
    );
}

#[test]
fn conflicts_name_the_dotted_key() {
    let key = |text: &str, edit: Edit| match apply(text, &[edit]) {
        Err(EditError::Conflict { key, .. }) => key,
        other => panic!("expected a conflict, got {other:?}"),
    };
    let text = "[plugins.my_reports]\nrollout = \"v2\"\n";
    assert_eq!(key(text, set("percent", Int(1))), R);
    assert_eq!(key(text, add("allow", 1)), R);
    assert_eq!(key(CONFIG, add("salt", 1)), format!("{R}.salt"));
    assert_eq!(key(CONFIG, set("allow", Int(1))), format!("{R}.allow"));
    assert_eq!(key(CONFIG, set(R, Int(1))), R, "a table is not overwritten");
    assert_eq!(key("[[plugins.my_reports]]\n", set("percent", Int(1))), "plugins.my_reports");
    assert_eq!(key("\"a.b\" = 1\n", Edit::Add { path: vec!["a.b".into(), "c".into()], value: 1 }), "\"a.b\"");
}

#[test]
fn invalid_toml_is_a_parse_error_with_its_line() {
    let Err(EditError::Parse { message, .. }) = apply("a = 1\nb = [\n", &[]) else { panic!("not Parse") };
    assert!(message.contains("line 2"), "{message}");
}

/// A fresh directory, and the names in it at the end.
#[test]
fn edit_file_creates_then_replaces_atomically_keeping_mode_and_symlink() {
    let dir = std::env::temp_dir().join(format!("vox-config-edit-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    let file = dir.join("config.toml");
    let read = || fs::read_to_string(&file).expect("read");
    let created = "[plugins.my_reports.rollout]\nkill = true\n";
    assert_eq!(edit_file(&file, &[set("kill", Bool(true))]).expect("created"), created);
    assert_eq!(read(), created);
    fs::write(&file, CONFIG).expect("write");
    let edited = CONFIG.replace("= 5 ", "= 25 ");
    assert_eq!(edit_file(&file, &[set("percent", Int(25))]).expect("edited"), edited);
    assert_eq!(read(), edited);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let link = dir.join("link.toml");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).expect("chmod");
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        edit_file(&link, &[add("allow", 7)]).expect("edited through the link");
        assert!(read().contains("allow = [111, 222, 7]"));
        assert_eq!(fs::metadata(&file).expect("stat").permissions().mode() & 0o777, 0o640);
        assert!(fs::symlink_metadata(&link).expect("lstat").file_type().is_symlink());
        fs::remove_file(&link).expect("rm link");
    }
    fs::write(&file, "a = [").expect("write");
    let err = edit_file(&file, &[set("kill", Bool(true))]).expect_err("invalid");
    assert!(matches!(&err, EditError::Parse { path, .. } if path.ends_with("config.toml")), "{err}");
    assert_eq!(read(), "a = [", "left as it was");
    let names: Vec<_> = fs::read_dir(&dir).expect("ls").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(names, ["config.toml"], "no temp file left behind");
    let _ = fs::remove_dir_all(&dir);
}
