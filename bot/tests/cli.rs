//! The `vox-host` binary as an operator meets it: exit codes and messages for
//! `check-config`, a missing token, a bad config and a forgotten plugin link.

use std::path::PathBuf;
use std::process::{Command, Output};

fn vox_host(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vox-host"));
    let data = std::env::temp_dir().join(format!("vox-cli-data-{}", std::process::id()));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        // Plugins create their directories when built; keep them out of the source tree.
        .env("VOX__HOST__DATA_DIR", data);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("vox-host runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn config_file(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vox-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, body).expect("write config");
    path
}

/// Every plugin section the binary carries (`config/plugins.toml`), read from the file itself.
fn default_plugin_ids() -> Vec<String> {
    let defaults = include_str!("../../config/plugins.toml");
    defaults
        .lines()
        .filter_map(|l| l.trim().strip_prefix("[plugins.")?.strip_suffix(']').map(str::to_owned))
        .filter(|id| !id.contains('.'))
        .collect()
}

#[test]
fn every_example_config_is_valid() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/examples");
    let reports = std::env::temp_dir().join(format!("vox-cli-example-reports-{}", std::process::id()));
    let reports = reports.to_str().expect("utf-8 temp dir").to_owned();
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).expect("config/examples") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let file = path.to_str().expect("utf-8 path");
        // The examples point at /var/lib; plugins create their directories when built.
        let out = vox_host(
            &["--config", file, "check-config"],
            &[("VOX__PLUGINS__MY_REPORTS__REPORTS_DIR", reports.as_str())],
        );
        assert!(out.status.success(), "{file}: {}{}", text(&out.stdout), text(&out.stderr));
        checked += 1;
    }
    assert!(checked >= 2, "production and canary examples");
    let _ = std::fs::remove_dir_all(&reports);
}

#[test]
fn check_config_lists_every_plugin_of_the_default_config() {
    let out = vox_host(&["check-config"], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "check-config failed: {}{}", stdout, text(&out.stderr));
    assert!(stdout.starts_with("PLUGIN"), "a table: {stdout}");
    let ids = default_plugin_ids();
    assert!(!ids.is_empty());
    for id in ids {
        assert!(
            stdout.lines().any(|l| l.split_whitespace().next() == Some(id.as_str())),
            "plugin `{id}` of config/plugins.toml is not linked into vox-host: {stdout}"
        );
    }
    assert!(stdout.contains("config OK"));
}

#[test]
fn a_missing_token_is_a_clear_error_and_exit_code_2() {
    let out = vox_host(&["run"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no Telegram bot token") && stderr.contains("VOX__TELEGRAM__TOKEN"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_bad_value_names_its_key_and_exits_2() {
    let path = config_file("bad-value.toml", "[telegram]\npoll_timeout_secs = \"soon\"\n");
    let out = vox_host(&["--config", path.to_str().expect("utf-8 path"), "check-config"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("telegram.poll_timeout_secs"), "{}", text(&out.stderr));

    let out = vox_host(&["check-config"], &[("VOX__LOG__FORMAT", "xml")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("log.format"), "{}", text(&out.stderr));
}

#[test]
fn a_section_for_a_plugin_that_is_not_linked_is_refused() {
    let path = config_file("ghost.toml", "[plugins.ghost]\n");
    let out = vox_host(&["check-config"], &[("VOX_CONFIG", path.to_str().expect("utf-8 path"))]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("`plugins.ghost`: no plugin with id `ghost` is linked"), "{stderr}");
}

#[test]
fn a_typo_in_a_plugin_section_names_the_key() {
    let path = config_file("typo.toml", "[plugins.main_menu]\ncolour = \"red\"\n");
    let out = vox_host(&["--config", path.to_str().expect("utf-8 path"), "check-config"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("plugins.main_menu") && stderr.contains("colour"), "{stderr}");
}

#[test]
fn help_names_the_subcommands() {
    let out = vox_host(&["--help"], &[]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("run") && stdout.contains("check-config"), "{stdout}");
}

#[test]
fn rollout_explain_gives_the_version_and_the_reason() {
    let path = config_file(
        "rollout.toml",
        "[plugins.my_reports.rollout]\nstable = \"v1\"\ncandidate = \"v2\"\npercent = 0\nallow = [111]\ndeny = [333]\n",
    );
    let config = path.to_str().expect("utf-8 path");
    let out = vox_host(&["--config", config, "rollout", "explain", "111"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("my_reports: v2 (allow"), "{}", text(&out.stdout));
    let out = vox_host(&["--config", config, "rollout", "explain", "333"], &[]);
    assert!(text(&out.stdout).starts_with("my_reports: v1 (deny"), "{}", text(&out.stdout));
    let out = vox_host(&["--config", config, "rollout", "explain", "5"], &[]);
    assert!(text(&out.stdout).starts_with("my_reports: v1 (bucket_out, bucket "), "{}", text(&out.stdout));

    let bad = config_file(
        "bad-rollout.toml",
        "[plugins.my_reports.rollout]\nstable = \"v1\"\ncandidate = \"v7\"\n",
    );
    let out = vox_host(&["--config", bad.to_str().expect("utf-8 path"), "rollout", "explain", "5"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("`plugins.my_reports.rollout.candidate`: `v7` is not a version"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn rollout_status_shows_the_config_and_says_when_no_host_runs() {
    let path = config_file(
        "status.toml",
        "[plugins.my_reports.rollout]\nstable = \"v1\"\ncandidate = \"v2\"\npercent = 25\nkill = true\n",
    );
    let data = std::env::temp_dir().join(format!("vox-cli-status-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let data_str = data.to_str().expect("utf-8 path");
    let config = path.to_str().expect("utf-8 path");
    let out = vox_host(&["--config", config, "rollout", "status"], &[("VOX__HOST__DATA_DIR", data_str)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("rollout v1→v2 25%") && stdout.contains("KILL SWITCH ON"), "{stdout}");
    assert!(stdout.contains("running host: none found"), "{stdout}");

    std::fs::create_dir_all(&data).expect("data dir");
    let status = serde_json::json!({
        "pid": 4242, "generation": 3, "reloads_applied": 2, "reloads_failed": 1,
        "last_reload_error": "`plugins.my_reports.rollout.percent`: must be between 0 and 100, got 150",
        "plugins": [{"id": "my_reports", "config": {"version": "v1", "versions": {"v1": true, "v2": true}, "enabled": true,
                     "rollout": null}, "served": {"v1": {"users": 7, "updates": 9}}}]
    });
    std::fs::write(data.join("rollout-status.json"), status.to_string()).expect("status file");
    let out = vox_host(&["--config", config, "rollout", "status"], &[("VOX__HOST__DATA_DIR", data_str)]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("running host: pid 4242, generation 3"), "{stdout}");
    assert!(stdout.contains("last refused change: `plugins.my_reports.rollout.percent`"), "{stdout}");
    assert!(stdout.contains("v1: 7 users, 9 updates since start"), "{stdout}");
}

#[test]
fn the_sandbox_is_a_working_reports_conversation_in_a_terminal() {
    use std::io::Write;
    let data = std::env::temp_dir().join(format!("vox-cli-sandbox-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_vox-host"))
        .arg("sandbox")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("VOX__HOST__DATA_DIR", &data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sandbox starts");
    // The main menu, "Мои отчеты", "Посмотреть", report 3, "Да, прислать", then quit.
    child.stdin.take().expect("stdin").write_all(b"/help\n/start\n#1\n#1\n3\n#1\n/quit\n").expect("type");
    let out = child.wait_with_output().expect("sandbox ends");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for expected in [
        "#N             нажать кнопку",
        "[#1 📄 Мои отчеты]",
        "📎 Мои_отчеты.txt",
        "№6. 07.04.2025 12:20 — Сводка голосовых сообщений за неделю",
        "Прислать отчет №3 «Обратная связь по новому тарифу»?",
        "📎 voxpersona_20250317_110500.txt",
        "До встречи!",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn reports_add_stores_a_report_once_per_job_into_the_configured_directory() {
    let dir = std::env::temp_dir().join(format!("vox-cli-reports-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let body = config_file("report.txt", "Итоги встречи\n");
    let config =
        config_file("reports.toml", &format!("[plugins.my_reports]\nreports_dir = \"{}\"\n", dir.display()));
    let add = |job: &str| {
        vox_host(
            &[
                "--config",
                config.to_str().expect("utf-8"),
                "reports",
                "add",
                "--user",
                "77",
                "--title",
                "Встреча с клиентом",
                "--file",
                body.to_str().expect("utf-8"),
                "--job-id",
                job,
            ],
            &[],
        )
    };
    let first = add("job-1");
    assert!(first.status.success(), "{}", text(&first.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&first.stdout).expect("one JSON line");
    assert_eq!(printed["report_number"], 1);
    let file = dir.join(printed["file_path"].as_str().expect("path"));
    assert_eq!(std::fs::read_to_string(file).expect("report file"), "Итоги встречи\n");
    let retried = add("job-1");
    assert_eq!(text(&retried.stdout), text(&first.stdout), "a retried job stores nothing new");
    let second: serde_json::Value = serde_json::from_slice(&add("job-2").stdout).expect("json");
    assert_eq!(second["report_number"], 2);
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).expect("index")).expect("json");
    assert_eq!(index.as_array().map(Vec::len), Some(2));

    let missing = vox_host(
        &[
            "--config",
            config.to_str().expect("utf-8"),
            "reports",
            "add",
            "--user",
            "77",
            "--title",
            "x",
            "--file",
            "/nonexistent/report.txt",
        ],
        &[],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("/nonexistent/report.txt"), "{}", text(&missing.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_state_store_from_a_newer_release_is_refused_with_exit_code_2() {
    let data = std::env::temp_dir().join(format!("vox-cli-newer-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).expect("data dir");
    let store = data.join("state.sqlite3");
    let conn = rusqlite::Connection::open(&store).expect("sqlite");
    conn.pragma_update(None, "user_version", 99).expect("version");
    drop(conn);
    let out = vox_host(
        &["run"],
        &[
            ("VOX__TELEGRAM__TOKEN", "123:abc"),
            ("VOX__TELEGRAM__API_URL", "http://127.0.0.1:9/"),
            ("VOX__HOST__DATA_DIR", data.to_str().expect("utf-8")),
            ("VOX__OPS__LISTEN", ""),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let message = text(&out.stderr);
    assert!(message.contains("state.sqlite3") && message.contains("newer"), "{message}");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn healthcheck_fails_when_no_host_answers() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let listen = format!("127.0.0.1:{port}");
    let out = vox_host(&["healthcheck"], &[("VOX__OPS__LISTEN", &listen)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("unhealthy: nothing answers"), "{}", text(&out.stdout));
    let out = vox_host(&["healthcheck"], &[("VOX__OPS__LISTEN", "")]);
    assert_eq!(out.status.code(), Some(1));
}
