//! The plan's log lines at the plan's levels, read from a real `vox-host run`'s
//! JSON log: one "started" line at info (version, config generation, plugins,
//! listen addresses), a sent list's size and count at info, a list refused for
//! its size at warning with the size, a timed-out list at warning with the
//! elapsed seconds, the user's lock acquired and released at debug with the
//! wait, and each action under its own event name.

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
