//! The host's captured output: which lines are errors. With `log.format =
//! json` every log line is a JSON object with a `level`; anything else on
//! stdout/stderr (a panic message, a crash) is suspect if it says so.

use std::path::Path;

/// The host's log as captured so far.
pub fn read(path: &Path) -> String {
    std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
}

/// The lines of `log` that report an error: JSON lines at level `ERROR`, and
/// other lines that mention a panic or an error level.
pub fn errors(log: &str) -> Vec<String> {
    log.lines().filter(|l| is_error(l)).map(str::to_owned).collect()
}

fn is_error(line: &str) -> bool {
    let line = line.trim();
    if line.is_empty() {
        return false;
    }
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(v) if v.is_object() => v["level"].as_str().is_some_and(|l| l.eq_ignore_ascii_case("error")),
        _ => line.contains("panicked") || line.contains("ERROR") || line.starts_with("error"),
    }
}

/// A log line shortened for one output line: the JSON line's `message` and
/// `error` (the host writes one flat object), else the raw line, at most 200 characters.
pub fn brief(line: &str) -> String {
    let text = match serde_json::from_str::<serde_json::Value>(line) {
        Ok(v) => {
            let message = v["message"].as_str().unwrap_or(line);
            match v["error"].as_str() {
                Some(e) => format!("{message}: {e}"),
                None => message.to_owned(),
            }
        }
        Err(_) => line.to_owned(),
    };
    vox_my_reports::view::format::truncate(&text, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_are_found_and_others_are_not() {
        let log = r#"{"timestamp":"t","level":"INFO","message":"started"}
{"timestamp":"t","level":"WARN","message":"orphan report file"}
{"timestamp":"t","level":"ERROR","message":"delete failed","error":"disk full"}
thread 'tokio-runtime-worker' panicked at host/src/x.rs:1:1
plain text that says nothing
"#;
        let found = errors(log);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(brief(&found[0]), "delete failed: disk full");
        assert!(found[1].contains("panicked"));
    }
}
