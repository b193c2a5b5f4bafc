//! The operator's path against a real running host: `vox-host run` as a child
//! process serving the fake Bot API, moved from 0% to 100% v2 and rolled back
//! by the scripts, each step confirmed by the host, reloaded with SIGHUP, then
//! stopped with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use vox_fake_bot_api::FakeBotApi;

mod common;
use common::{free_port, http_get};

const BIN: &str = env!("CARGO_BIN_EXE_vox-host");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_owned()
}

fn script(name: &str, args: &[&str], data: &Path) -> Output {
    Command::new(repo().join("scripts").join(name))
        .args(args)
        .env("VOX_HOST_BIN", BIN)
        .env("VOX__HOST__DATA_DIR", data)
        .output()
        .expect("script runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

struct Host(Child);

/// `vox-host run` as a child serving `api`, logging to `dir/host.log`; returns
/// once it wrote its status file.
async fn spawn_host(dir: &Path, cfg: &str, api: &FakeBotApi, ops_port: u16) -> Host {
    let data = dir.join("data");
    let log = std::fs::File::create(dir.join("host.log")).expect("log file");
    let child = Command::new(BIN)
        .args(["--config", cfg, "run"])
        .env("VOX__TELEGRAM__TOKEN", api.token())
        .env("VOX__TELEGRAM__API_URL", api.url())
        .env("VOX__TELEGRAM__POLL_TIMEOUT_SECS", "1")
        .env("VOX__HOST__DATA_DIR", &data)
        .env("VOX__OPS__LISTEN", format!("127.0.0.1:{ops_port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("host starts");
    let host = Host(child);
    let started = Instant::now();
    while !data.join("rollout-status.json").exists() {
        assert!(started.elapsed() < Duration::from_secs(20), "the host never wrote its status");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    host
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

/// A stand-in `/metrics` whose lock-overlap counter is 0 for the first `calm`
/// scrapes and 1 after; its URL.
fn yellow_metrics_after(calm: usize) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/metrics", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            let overlaps = u8::from(n >= calm);
            let body = format!(
                "my_reports_lock_overlaps_total{{version=\"v2\"}} {overlaps}\n\
                 my_reports_snapshot_timeout_violations_total{{version=\"v2\"}} 0\n"
            );
            let _ = write!(stream, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n{body}");
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_rolls_v2_out_and_back_with_one_command_each() {
    let dir = std::env::temp_dir().join(format!("vox-operator-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).expect("dirs");
    let data = dir.join("data");
    let config = dir.join("vox.toml");
    std::fs::write(
        &config,
        "# operator's config\n[plugins.my_reports]\nversion = \"v1\"  # stable for now\n\n\
         [plugins.my_reports.rollout]\nstable = \"v1\"\ncandidate = \"v2\"\npercent = 0  # canary off\n",
    )
    .expect("config");
    let cfg = config.to_str().expect("utf-8 path");

    let api = FakeBotApi::start().await.expect("fake api");
    let ops_port = free_port();
    let mut host = spawn_host(&dir, cfg, &api, ops_port).await;

    let mut alice = api.user(4242, "Алиса");
    alice.send_text("/reports");
    alice.expect_text("нет сохраненных отчетов").await;
    alice.send_text("/help");
    alice.expect_text("Что умеет бот").await;

    // 0% → 100%: one command, confirmed by the running host.
    let out = script("rollout.sh", &["--config", cfg, "set", "100"], &data);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("confirmed by the running host"), "{}", text(&out.stdout));
    let edited = std::fs::read_to_string(&config).expect("config");
    assert!(
        edited.contains("# operator's config") && edited.contains("percent = 100  # canary off"),
        "{edited}"
    );

    // An invalid change is refused and the file stays as it was.
    let out = script("rollout.sh", &["--config", cfg, "set", "150"], &data);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("`plugins.my_reports.rollout.percent`"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&config).expect("config"), edited);

    // A canary walk that stays healthy reaches its last step.
    let out = script("canary.sh", &["--config", cfg, "--dwell", "1", "--steps", "25 50"], &data);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("canary: 50% reached, healthy"), "{}", text(&out.stdout));

    // A trigger firing during a step (the host's automatic rollback, simulated by
    // its override file) makes the walk roll back on its own.
    let evidence_dir = dir.join("evidence");
    let walk = Command::new(repo().join("scripts/canary.sh"))
        .args(["--config", cfg, "--dwell", "20", "--steps", "75"])
        .env("VOX_HOST_BIN", BIN)
        .env("VOX__HOST__DATA_DIR", &data)
        .env("VOX_EVIDENCE_DIR", &evidence_dir)
        .env("VOX_METRICS_URL", format!("http://127.0.0.1:{ops_port}/metrics"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("canary starts");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let trigger =
        serde_json::json!({"my_reports": {"candidate": "v2", "reason": "test trigger", "at": "now"}});
    std::fs::write(dir.join("rollout-override.json"), trigger.to_string()).expect("override");
    let out = tokio::task::spawn_blocking(move || walk.wait_with_output())
        .await
        .expect("join")
        .expect("canary ends");
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("trigger fired at 75%"), "{}", text(&out.stdout));
    let kept: Vec<_> =
        std::fs::read_dir(&evidence_dir).expect("evidence dir").map(|e| e.expect("entry").path()).collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let evidence = std::fs::read_to_string(&kept[0]).expect("evidence");
    assert!(
        evidence.contains("canary rolled back") && evidence.contains("vox_config_generation"),
        "{evidence}"
    );
    let out = script("rollout.sh", &["--config", cfg, "clear-override"], &data);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let out = script("rollout.sh", &["--config", cfg, "unkill"], &data);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));

    // A yellow trigger (two actions of one user at once, here from a stand-in
    // /metrics) holds the walk at its step: no further step, nothing rolled back.
    let metrics = yellow_metrics_after(3);
    let out = Command::new(repo().join("scripts/canary.sh"))
        .args(["--dwell", "30", "--steps", "60 80", "--config", cfg])
        .env("VOX_HOST_BIN", BIN)
        .env("VOX__HOST__DATA_DIR", &data)
        .env("VOX_METRICS_URL", &metrics)
        .output()
        .expect("canary runs");
    assert_eq!(out.status.code(), Some(5), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("yellow trigger at 60%"), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("my_reports_lock_overlaps_total=1"), "{}", text(&out.stdout));
    let held = std::fs::read_to_string(&config).expect("config");
    assert!(held.contains("percent = 60") && !held.contains("kill = true"), "held, not rolled back:\n{held}");

    // ... and back, instantly.
    let out = script("rollback.sh", &["--config", cfg], &data);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    eprintln!("rollback.sh: {}", text(&out.stdout).trim());
    assert!(text(&out.stdout).contains("confirmed by the running host"), "{}", text(&out.stdout));
    let out = script("rollout.sh", &["--config", cfg, "status"], &data);
    let status = text(&out.stdout);
    assert!(status.contains("KILL SWITCH ON"), "{status}");

    // SIGHUP re-reads the config and does not stop the host.
    let pid = host.0.id().to_string();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().expect("kill").success());
    let started = Instant::now();
    while !std::fs::read_to_string(dir.join("host.log"))
        .expect("log")
        .contains("SIGHUP: re-reading the config")
    {
        assert!(started.elapsed() < Duration::from_secs(10), "SIGHUP was not acted on");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(host.0.try_wait().expect("wait").is_none(), "SIGHUP must not stop the host");
    let health = http_get(ops_port, "/healthz");
    assert!(health.as_ref().is_some_and(|(code, _)| *code == 200), "{health:?}");

    // Graceful shutdown on SIGTERM.
    let pid = host.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let started = Instant::now();
    let code = loop {
        if let Some(status) = host.0.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "the host did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(code.success(), "exit status {code}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every file under `dir`: (path, inode, length, modification time, bytes).
fn tree(dir: &Path) -> Vec<(PathBuf, u64, u64, std::time::SystemTime, Vec<u8>)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                stack.push(path.clone());
            }
            let bytes = if meta.is_file() { std::fs::read(&path).expect("read") } else { Vec::new() };
            out.push((path, meta.ino(), meta.len(), meta.modified().expect("mtime"), bytes));
        }
    }
    out.sort();
    out
}

/// The operator's read-only commands beside a running host never open the
/// report store: no journal replayed, no temp file removed, no lock taken —
/// taking it means opening (here: creating) the writers' lock file, which the
/// test removed after the host's start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_leave_the_reports_directory_untouched() {
    let dir = std::env::temp_dir().join(format!("vox-operator-ro-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let reports = dir.join("reports");
    std::fs::create_dir_all(reports.join("user_7")).expect("dirs");
    std::fs::write(
        reports.join("index.json"),
        "[\n  {\n    \"file_path\": \"user_7/voxpersona_20250101_100000.txt\",\n    \"user_id\": 7,\n    \"question\": \"Отчет\",\n    \"timestamp\": \"2025-01-01T10:00:00\",\n    \"report_number\": 1\n  }\n]",
    )
    .expect("index");
    std::fs::write(reports.join("user_7/voxpersona_20250101_100000.txt"), "текст").expect("report");
    let config = dir.join("vox.toml");
    let reports_str = reports.to_str().expect("utf-8 path");
    std::fs::write(
        &config,
        format!("[plugins.my_reports]\nversion = \"v2\"\nreports_dir = \"{reports_str}\"\n"),
    )
    .expect("config");
    let cfg = config.to_str().expect("utf-8 path");
    let api = FakeBotApi::start().await.expect("fake api");
    let _host = spawn_host(&dir, cfg, &api, free_port()).await;

    // After the host opened the store: an interrupted rename, a stray temp file,
    // and no lock file (the host opens it afresh for each write).
    std::fs::write(
        reports.join(".vox-journal.json"),
        r#"{"version":1,"intent":{"rename":{"user_id":7,"report_number":1,"file_path":"user_7/voxpersona_20250101_100000.txt","new_title":"Новое"}}}"#,
    )
    .expect("journal");
    std::fs::write(reports.join("user_7/.voxpersona_x.txt.vox-tmp.1.1"), "temp").expect("temp file");
    std::fs::remove_file(reports.join(".vox-index.lock")).expect("the host made the lock file");
    let before = tree(&reports);

    let data = dir.join("data");
    for args in [&["check-config"][..], &["rollout", "explain", "1"], &["rollout", "status"]] {
        let out = Command::new(BIN)
            .args(["--config", cfg])
            .args(args)
            .env("VOX__HOST__DATA_DIR", &data)
            .output()
            .expect("runs");
        assert!(out.status.success(), "{args:?}: {}{}", text(&out.stdout), text(&out.stderr));
    }
    let after = tree(&reports);
    assert_eq!(
        before.iter().map(|f| &f.0).collect::<Vec<_>>(),
        after.iter().map(|f| &f.0).collect::<Vec<_>>(),
        "same files"
    );
    assert!(before == after, "every file byte-for-byte and inode-for-inode as it was");
    let _ = std::fs::remove_dir_all(&dir);
}
