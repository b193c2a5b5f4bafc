//! The plan's log lines at the plan's levels, read from a real `vox-host run`'s
//! JSON log: one "started" line at info (version, config generation, plugins,
//! listen addresses), a sent list's size and count at info, a list refused for
//! its size at warning with the size, a timed-out list at warning with the
//! elapsed seconds, the user's lock acquired and released at debug with the
//! wait, and each action under its own event name. And, with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, one OTLP span per update reaches a
//! collector stand-in, the rollout decision among its attributes.

use std::time::Duration;

use serde_json::Value;
use vox_fake_bot_api::FakeBotApi;
use vox_report_store::{NewReport, Storage};

mod common;
use common::free_port;
#[path = "common/child.rs"]
mod child;

const SMALL: i64 = 5101;
const LARGE: i64 = 5102;

fn seed(storage: &Storage, user: i64, n: u32) {
    for i in 1..=n {
        storage
            .save_report_blocking(NewReport {
                user_id: user,
                username: None,
                title: format!("Подробный анализ встречи с клиентом по итогам квартала, часть {i}"),
                search_type: "deep".into(),
                job_id: None,
                tokens: 10,
                content: format!("отчет {i}").into_bytes(),
                timestamp: None,
            })
            .expect("seed");
    }
}

/// The log's JSON lines.
fn lines(log: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Waits for the first line with `message` (lines are written by a thread of their own).
async fn line(log: &std::path::Path, message: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(found) = lines(log).into_iter().find(|v| v["message"] == message) {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "no {message:?} line in {}", log.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plans_log_lines_appear_at_their_levels() {
    let dir = std::env::temp_dir().join(format!("vox-logs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let reports = dir.join("reports");
    let storage = Storage::open(&reports).expect("reports");
    seed(&storage, SMALL, 2);
    seed(&storage, LARGE, 30);
    let config = dir.join("vox.toml");
    let section = |ttl: u32| {
        format!(
            "[plugins.my_reports]\nversion = \"v2\"\nreports_dir = \"{}\"\nmax_list_bytes = 2048\nsnapshot_ttl_secs = {ttl}\n",
            reports.display()
        )
    };
    std::fs::write(&config, section(300)).expect("config");
    let api = FakeBotApi::start().await.expect("fake API");
    let log_path = dir.join("host.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let ops = free_port();
    let mut host = child::vox_host(&config, &api, &dir.join("data"), ops, log)
        .env("VOX__LOG__FORMAT", "json")
        .env("VOX__LOG__LEVEL", "info,vox_my_reports=debug")
        .spawn()
        .expect("vox-host starts");

    let started = line(&log_path, "started").await;
    assert_eq!(started["level"], "INFO");
    assert_eq!(started["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(started["generation"], 1);
    assert_eq!(started["mode"], "polling");
    assert_eq!(started["ops_listen"], format!("127.0.0.1:{ops}"));
    assert!(started["plugins"].as_str().is_some_and(|p| p.contains("my_reports=v2")), "{started}");

    let mut small = api.user(SMALL, "Алиса").with_wait(Duration::from_secs(20));
    small.send_text("/reports");
    small.expect_document().await;
    small.expect_text("Выберите действие").await;
    let sent = line(&log_path, "list sent").await;
    assert_eq!((sent["level"].as_str(), sent["count"].as_u64()), (Some("INFO"), Some(2)), "{sent}");
    assert!(sent["bytes"].as_u64().is_some_and(|b| b > 0), "{sent}");
    small.press("Удалить");
    small.expect_text("Какой отчет удалить?").await;
    small.send_text("1");
    small.expect_text("Удалить отчет №1").await;
    small.press("Да, удалить");
    small.expect_text("удален").await;
    let deleted = line(&log_path, "my_reports delete").await;
    assert_eq!(
        (deleted["level"].as_str(), deleted["outcome"].as_str()),
        (Some("INFO"), Some("ok")),
        "{deleted}"
    );
    assert_eq!(deleted["version"], "v2", "the update's span names the version: {deleted}");
    assert!(deleted["chat"].is_i64() && deleted["user"].is_i64(), "{deleted}");
    let acquired = line(&log_path, "user's lock acquired").await;
    assert_eq!(acquired["level"], "DEBUG");
    assert!(acquired["waited_ms"].is_u64(), "{acquired}");
    let released = line(&log_path, "user's lock released").await;
    assert_eq!(released["level"], "DEBUG");
    assert!(released["held_ms"].is_u64(), "{released}");

    let mut large = api.user(LARGE, "Борис").with_wait(Duration::from_secs(20));
    large.send_text("/reports");
    large.expect_text("слишком большим").await;
    let refused = line(&log_path, "list over the size limit, not sent").await;
    assert_eq!(refused["level"], "WARN");
    assert!(refused["bytes"].as_u64().is_some_and(|b| b > 2048), "{refused}");

    // A one-second list, to see one time out (a live change of the plugin's own key).
    std::fs::write(&config, section(1)).expect("config");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !common::http_get(ops, "/metrics").is_some_and(|(_, m)| m.contains("vox_config_reloads_total 1")) {
        assert!(tokio::time::Instant::now() < deadline, "the config change was not applied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    small.send_text("/reports");
    small.expect_document().await;
    small.expect_text("Выберите действие").await;
    small.press("Посмотреть");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    small.send_text("2");
    small.expect_text("Список устарел").await;
    let timed_out = line(&log_path, "list snapshot timed out").await;
    assert_eq!(timed_out["level"], "WARN");
    assert!(timed_out["elapsed_secs"].as_u64().is_some_and(|s| s >= 1), "{timed_out}");

    let _ = host.kill();
    let _ = host.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the collector stand-in received: (path, body) per request.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A stand-in OTLP/HTTP collector: answers every POST 200 and keeps the bodies.
fn collector() -> (String, Received) {
    use std::io::{BufRead, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = std::sync::Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = std::io::BufReader::new(stream);
            let (mut path, mut length) = (String::new(), 0usize);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                if path.is_empty() {
                    path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            keep.lock().expect("lock").push((path, String::from_utf8_lossy(&body).into_owned()));
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}");
        }
    });
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_otlp_endpoint_each_update_is_a_span_with_the_rollout_decision() {
    let dir = std::env::temp_dir().join(format!("vox-otlp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let reports = dir.join("reports");
    seed(&Storage::open(&reports).expect("reports"), SMALL, 2);
    let config = dir.join("vox.toml");
    std::fs::write(
        &config,
        format!("[plugins.my_reports]\nversion = \"v2\"\nreports_dir = \"{}\"\n", reports.display()),
    )
    .expect("config");
    let (endpoint, received) = collector();
    let api = FakeBotApi::start().await.expect("fake API");
    let log = std::fs::File::create(dir.join("host.log")).expect("log");
    let mut host = child::vox_host(&config, &api, &dir.join("data"), free_port(), log)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_SERVICE_NAME", "vox-test")
        .spawn()
        .expect("vox-host starts");
    let mut user = api.user(SMALL, "Алиса").with_wait(Duration::from_secs(20));
    user.send_text("/reports");
    user.expect_document().await;
    user.expect_text("Выберите действие").await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let span = loop {
        let bodies = received.lock().expect("lock").clone();
        let found = bodies.iter().find_map(|(path, body)| {
            assert_eq!(path, "/v1/traces");
            let v: Value = serde_json::from_str(body).ok()?;
            let spans = v["resourceSpans"][0]["scopeSpans"][0]["spans"].as_array()?.clone();
            let service = v["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"].clone();
            assert_eq!(service, "vox-test");
            spans.into_iter().find(|s| s["attributes"].to_string().contains("my_reports"))
        });
        if let Some(span) = found {
            break span;
        }
        assert!(tokio::time::Instant::now() < deadline, "no update span reached the collector: {bodies:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let attr = |key: &str| {
        span["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["key"] == key))
            .map(|x| x["value"].clone())
    };
    assert_eq!(span["name"], "update");
    assert_eq!(attr("vox.rollout.version"), Some(serde_json::json!({"stringValue": "v2"})));
    assert_eq!(attr("vox.rollout.reason"), Some(serde_json::json!({"stringValue": "configured"})));
    assert_eq!(attr("vox.outcome"), Some(serde_json::json!({"stringValue": "ok"})));
    assert_eq!(attr("vox.chat"), Some(serde_json::json!({"intValue": SMALL.to_string()})));
    assert_eq!(span["status"]["code"], 1);
    let _ = host.kill();
    let _ = host.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
