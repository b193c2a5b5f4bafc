//! Layering, the teloxide variables and errors that name their key.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn defaults_load_and_have_no_token() {
    let s = Settings::load(None, env(&[])).expect("defaults load");
    assert_eq!(s.log.format, LogFormat::Human);
    assert!(s.plugins.is_empty(), "the library's defaults know no plugin: {:?}", s.plugins.keys());
    let err = s.token().expect_err("no token");
    assert!(err.0.contains("VOX__TELEGRAM__TOKEN"), "{err}");
}

#[test]
fn a_binary_layers_its_plugin_sections_under_the_file() {
    let dir = std::env::temp_dir().join(format!("vox-config-layers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("vox.toml");
    std::fs::write(&file, "[plugins.p]\nb = 3\n").expect("file");
    let sources = Sources::new(Some(file), env(&[])).with_defaults("[plugins.p]\na = 1\nb = 2\n");
    let s = sources.load().expect("loads");
    assert_eq!(s.plugins["p"], serde_json::json!({"a": 1, "b": 3}));
    let text = sources.load_text("[plugins.p]\nb = 4\n").expect("in memory");
    assert_eq!(text.plugins["p"]["b"], 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn environment_overrides_defaults() {
    let s = Settings::load(
        None,
        env(&[
            ("VOX__TELEGRAM__TOKEN", "1:abc"),
            ("VOX__LOG__FORMAT", "json"),
            ("VOX__TELEGRAM__POLL_TIMEOUT_SECS", "3"),
        ]),
    )
    .expect("loads");
    assert_eq!(s.token().expect("token"), "1:abc");
    assert_eq!(s.log.format, LogFormat::Json);
    assert_eq!(s.telegram.poll_timeout_secs, 3);
}

#[test]
fn teloxide_variables_are_accepted() {
    let s = Settings::load(
        None,
        env(&[("TELOXIDE_TOKEN", "2:xyz"), ("TELOXIDE_API_URL", "http://127.0.0.1:8081/")]),
    )
    .expect("loads");
    assert_eq!(s.token().expect("token"), "2:xyz");
    assert_eq!(s.telegram.api_url.as_str(), "http://127.0.0.1:8081/");
}

#[test]
fn a_file_layer_overrides_defaults_and_bad_values_name_their_key() {
    let dir = std::env::temp_dir().join(format!("vox-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("good.toml");
    std::fs::write(&good, "[log]\nformat = \"json\"\n").expect("write");
    assert_eq!(Settings::load(Some(&good), env(&[])).expect("loads").log.format, LogFormat::Json);

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[telegram]\npoll_timeout_secs = \"soon\"\n").expect("write");
    let err = Settings::load(Some(&bad), env(&[])).expect_err("bad type");
    assert!(err.0.contains("poll_timeout_secs"), "{err}");

    std::fs::write(&bad, "[log]\nformat = \"xml\"\n").expect("write");
    let err = Settings::load(Some(&bad), env(&[])).expect_err("bad enum");
    assert!(err.0.contains("format"), "{err}");

    std::fs::write(&bad, "[ops]\nlisten = \"localhost\"\n").expect("write");
    let err = Settings::load(Some(&bad), env(&[])).expect_err("bad address");
    assert!(err.0.contains("ops.listen"), "{err}");
    let off = Settings::load(None, env(&[("VOX__OPS__LISTEN", "")])).expect("empty is off");
    assert_eq!(off.ops.address(), Ok(None));

    std::fs::write(&bad, "[telegram]\napi_url = \"ftp://x\"\n").expect("write");
    let err = Settings::load(Some(&bad), env(&[])).expect_err("bad scheme");
    assert!(err.0.contains("telegram.api_url"), "{err}");

    let missing = dir.join("missing.toml");
    let err = Settings::load(Some(&missing), env(&[])).expect_err("missing file");
    assert!(err.0.contains("missing.toml"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
