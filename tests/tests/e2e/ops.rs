//! The operator's endpoints on a running host: `/healthz` says when the bot
//! serves and when Telegram is unreachable; `/metrics` moves as a scripted
//! session goes (updates, handlers, rollout, Telegram calls, my-reports'
//! counters, config reloads), and every metric the monitoring bundle's rules
//! and dashboard name (`deploy/`) is on it.

use std::time::Duration;

use vox_testkit::{Fault, TestHost, http_get, metric as value};

use crate::reports_fixture as fx;

const ALICE: i64 = 8101;

async fn scrape(host: &TestHost) -> String {
    host.scrape().await
}

async fn healthz(host: &TestHost) -> (u16, serde_json::Value) {
    let (status, body) = http_get(&format!("{}/healthz", host.ops_url())).await.expect("GET /healthz");
    (status, serde_json::from_str(&body).expect("JSON body"))
}

/// Waits (up to 10 s) for `/healthz` to answer `want`.
async fn healthz_becomes(host: &TestHost, want: u16) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = healthz(host).await;
        if status == want {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "healthz stayed {status}: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_as_a_scripted_session_goes() {
    let host = fx::host("v2", fx::reports(ALICE, 3), "").start().await;
    let before = scrape(&host).await;
    assert_eq!(value(&before, "my_reports_opens_total{version=\"v2\"}"), Some(0.0), "{before}");
    assert_eq!(value(&before, "vox_config_generation"), Some(1.0));
    assert!(value(&before, "process_resident_memory_bytes").is_some_and(|b| b > 1e6), "{before}");
    assert!(value(&before, "process_cpu_seconds_total").is_some(), "{before}");
    assert!(before.contains("# TYPE vox_event_loop_lag_seconds histogram"), "{before}");

    let mut alice = host.user(ALICE, "Алиса");
    alice.send_text("/start");
    alice.expect_text("Главное меню").await;
    alice.press("Мои отчеты");
    alice.expect_document().await;
    alice.expect_text("Выберите действие").await;
    alice.press("Посмотреть");
    alice.expect_text("Какой отчет прислать?").await;
    alice.send_text("2");
    alice.expect_text("Прислать отчет №2").await;
    alice.press("Да");
    alice.expect_document().await;

    // The last handler may still be answering its callback: wait for its outcome.
    let mut after = scrape(&host).await;
    for _ in 0..100 {
        if value(&after, "vox_update_outcomes_total{outcome=\"ok\"}") == Some(5.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = scrape(&host).await;
    }
    let v = |series: &str| value(&after, series).unwrap_or_else(|| panic!("no `{series}` in\n{after}"));
    assert_eq!(v("vox_updates_total{kind=\"command\"}"), 1.0);
    assert_eq!(v("vox_updates_total{kind=\"callback\"}"), 3.0);
    assert_eq!(v("vox_updates_total{kind=\"text\"}"), 1.0);
    assert_eq!(v("my_reports_opens_total{version=\"v2\"}"), 1.0);
    assert_eq!(v("my_reports_actions_total{version=\"v2\",action=\"view\",outcome=\"ok\"}"), 1.0);
    assert_eq!(v("my_reports_lists_sent_total{version=\"v2\"}"), 1.0);
    assert_eq!(v("my_reports_report_file_bytes_count{version=\"v2\"}"), 1.0);
    assert_eq!(v("my_reports_list_to_action_seconds_count{version=\"v2\",action=\"view\"}"), 1.0);
    assert_eq!(v("my_reports_opens_total{version=\"v1\"}"), 0.0, "v1 served nobody");
    assert_eq!(v("vox_rollout_served_users{plugin=\"my_reports\",version=\"v2\"}"), 1.0);
    assert_eq!(
        v(
            "vox_handler_duration_seconds_count{plugin=\"my_reports\",version=\"v2\",step=\"report_view_ask_number\"}"
        ),
        1.0
    );
    assert_eq!(
        v("vox_handler_duration_seconds_count{plugin=\"main_menu\",version=\"none\",step=\"none\"}"),
        1.0
    );
    assert!(
        v("vox_rollout_decisions_total{plugin=\"my_reports\",version=\"v2\",reason=\"configured\"}") >= 1.0
    );
    assert!(v("vox_telegram_request_duration_seconds_count{method=\"sendDocument\"}") >= 2.0);
    assert!(v("vox_telegram_request_duration_seconds_count{method=\"answerCallbackQuery\"}") >= 3.0);
    assert_eq!(v("vox_update_outcomes_total{outcome=\"ok\"}"), 5.0);
    assert!(!after.contains("vox_handler_errors_total{"), "no handler failed: {after}");

    // A config change applied, then one refused: both counted, the generation moves once.
    host.write_config(&fx::config("v1", ""));
    host.wait_until("the change applied", |h| h.generation() == 2).await;
    host.write_config("[plugins.my_reports]\nversion = \"v9\"\n");
    host.wait_until("the bad change refused", |h| h.reload_failures() == 1).await;
    let reloaded = scrape(&host).await;
    assert_eq!(value(&reloaded, "vox_config_reloads_total"), Some(1.0), "{reloaded}");
    assert_eq!(value(&reloaded, "vox_config_reload_failures_total"), Some(1.0), "{reloaded}");
    assert_eq!(value(&reloaded, "vox_config_generation"), Some(2.0), "{reloaded}");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_ok_while_polling_and_503_while_telegram_is_unreachable() {
    let host = TestHost::builder()
        .env("VOX__OPS__PROBE_EVERY_SECS", "1")
        .env("VOX__OPS__UNREACHABLE_AFTER_SECS", "1")
        .start()
        .await;
    let ok = healthz_becomes(&host, 200).await;
    assert_eq!(ok["status"], "ok");
    assert_eq!(ok["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(ok["generation"], 1);
    assert!(ok["uptime_secs"].is_u64(), "{ok}");

    // Telegram stops answering the probe: after the threshold the host is unhealthy.
    host.api().fault(Some("getMe"), Fault::Drop, 1_000);
    let down = healthz_becomes(&host, 503).await;
    assert_eq!(down["status"], "telegram_unreachable", "{down}");
    assert!(down["telegram_failing_secs"].as_u64().is_some_and(|s| s >= 1), "{down}");
    let metrics = scrape(&host).await;
    assert_eq!(value(&metrics, "vox_telegram_reachable"), Some(0.0), "{metrics}");
    assert!(
        value(&metrics, "vox_telegram_request_errors_total{method=\"getMe\",error=\"network\"}")
            .is_some_and(|n| n >= 1.0),
        "{metrics}"
    );

    // It answers again: healthy at the next probe.
    host.api().clear_faults();
    healthz_becomes(&host, 200).await;
    let (status, body) = http_get(&format!("{}/nothing-here", host.ops_url())).await.expect("GET");
    assert_eq!(status, 404, "{body}");
    host.stop().await.expect("clean stop");
}

/// A switched-off plugin's refusals are neither served users of a version nor
/// rollout decisions: `/metrics` shows no version serving it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_plugin_is_not_counted_as_served_or_decided() {
    let host = TestHost::builder().config("[plugins.test_canary]\nenabled = false\n").start().await;
    let mut alice = host.user(ALICE + 50, "Алиса");
    alice.send_text("/canary");
    alice.expect_text("Раздел временно недоступен").await;
    // The outcome is counted once the reply is out: wait for it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut metrics = scrape(&host).await;
    // The series may show (at 0) a moment before it is counted.
    while value(&metrics, "vox_update_outcomes_total{outcome=\"plugin_disabled\"}").unwrap_or(0.0) < 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "the refusal is never counted: {metrics}");
        tokio::time::sleep(Duration::from_millis(20)).await;
        metrics = scrape(&host).await;
    }
    let canary_lines: Vec<&str> = metrics
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains("plugin=\"test_canary\""))
        .filter(|l| l.starts_with("vox_rollout_decisions") || l.starts_with("vox_rollout_served_users"))
        .filter(|l| !l.ends_with(" 0"))
        .collect();
    assert!(canary_lines.is_empty(), "{canary_lines:?}");
    assert_eq!(
        value(&metrics, "vox_update_outcomes_total{outcome=\"plugin_disabled\"}"),
        Some(1.0),
        "{metrics}"
    );
    host.stop().await.expect("clean stop");
}

/// Two processes polling one token: Telegram answers one of them 409 Conflict.
/// The host says so plainly — on `/healthz` and `/metrics` — and recovers
/// once the other one stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instance_polling_the_token_shows_on_healthz_and_metrics() {
    let conflict = vox_testkit::Fault::Api {
        status: 409,
        description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
            .into(),
    };
    let host = TestHost::builder().start().await;
    host.api().fault(Some("getUpdates"), conflict, 2);
    let url = host.ops_url();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = vox_testkit::http_get(&format!("{url}/healthz")).await.expect("healthz answers");
        if body.contains("another_instance_polling") {
            assert_eq!(status, 503, "{body}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "healthz never named the other poller: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, metrics) = vox_testkit::http_get(&format!("{url}/metrics")).await.expect("metrics");
    assert!(metrics.contains("vox_telegram_poll_conflicts_total"), "{metrics}");
    // Once the other process is gone, updates flow again.
    let mut alice = host.user(6101, "Алиса");
    alice.send_text("/start");
    alice.expect_text("Главное меню").await;
    host.stop().await.expect("clean stop");
}

/// The metric names an expression file uses: tokens of `vox_*`, `my_reports_*`
/// and `process_*` (a recording rule's `a:b:c` name is not one).
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| !t.contains(':'))
        .filter(|t| ["vox_", "my_reports_", "process_"].iter().any(|p| t.starts_with(p)))
        .map(str::to_owned)
        .collect()
}

/// Whether `/metrics` has `name`: a sample of it, or the family it belongs to
/// (a counter's `_total`, a histogram's `_bucket`/`_sum`/`_count`) declared.
fn scraped(metrics: &str, name: &str) -> bool {
    let sample = metrics.lines().any(|l| l.strip_prefix(name).is_some_and(|r| r.starts_with(['{', ' '])));
    let family = ["_total", "_bucket", "_sum", "_count", ""]
        .iter()
        .filter_map(|suffix| name.strip_suffix(suffix))
        .any(|base| {
            metrics
                .lines()
                .any(|l| l.strip_prefix("# TYPE ").is_some_and(|t| t.split(' ').next() == Some(base)))
        });
    sample || family
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_alert_rules_and_the_dashboard_use_is_on_a_real_scrape() {
    let rollout =
        "[plugins.my_reports.rollout]\nstable = \"v1\"\ncandidate = \"v2\"\npercent = 0\nallow = [8101]\n";
    let host = fx::host("v1", fx::reports(ALICE, 3), rollout).start().await;
    let mut alice = host.user(ALICE, "Алиса");
    fx::open_list(&mut alice).await;
    alice.press("Посмотреть");
    alice.expect_text("Какой отчет прислать?").await;
    alice.send_text("2");
    alice.expect_text("Прислать отчет №2").await;
    alice.press("Да, прислать");
    alice.expect_document().await;
    alice.press("Удалить");
    alice.expect_text("Какой отчет удалить?").await;
    alice.press("Отмена");
    alice.expect_text("Действие отменено").await;
    // A list Telegram refuses: a handler error, a failure the candidate reports
    // (which rolls it back at once), an API error.
    host.api().fault(
        Some("sendDocument"),
        Fault::Api { status: 400, description: "Bad Request: file is invalid".into() },
        1,
    );
    alice.send_text("/reports");
    alice.expect_text("Что-то пошло не так").await;
    host.wait_until("the candidate rolled back", |h| h.runtime().rollbacks() == 1).await;
    // The handler's failure is counted once it returned, after the rollback may have happened.
    let mut metrics = scrape(&host).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !metrics.contains("vox_handler_errors_total{") && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        metrics = scrape(&host).await;
    }

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut used = std::collections::BTreeSet::new();
    for file in ["deploy/prometheus/vox-host.rules.yml", "deploy/grafana/vox-host.json"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let names = metric_names(&text);
        assert!(names.len() >= 10, "{file} names {names:?}");
        used.extend(names);
    }
    let missing: Vec<&String> = used.iter().filter(|name| !scraped(&metrics, name)).collect();
    assert!(
        missing.is_empty(),
        "named by the rules or the dashboard, not on /metrics: {missing:?}\n{metrics}"
    );
    // The series the canary comparison joins on: stable serves, the rolled-back candidate no more.
    let role = |version: &str, role: &str| {
        value(
            &metrics,
            &format!(
                "vox_rollout_version_role{{plugin=\"my_reports\",version=\"{version}\",role=\"{role}\"}}"
            ),
        )
    };
    assert_eq!((role("v1", "stable"), role("v2", "candidate")), (Some(1.0), Some(0.0)), "{metrics}");
    host.stop().await.expect("clean stop");
}
