//! Per-user versions from config: canary allow lists, switched-off versions,
//! the kill switch — and buttons of a version that can no longer serve.

use vox_testkit::TestHost;

use crate::reports_fixture::{self as fx};

const ALICE: i64 = 9001;
const BOB: i64 = 9002;

fn rows() -> Vec<(i64, u32, String, String)> {
    let mut rows = fx::reports(ALICE, 2);
    rows.extend(fx::reports(BOB, 2));
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_on_the_allow_list_gets_v2_while_others_get_v1() {
    let rollout =
        "[plugins.my_reports.rollout]\nstable = \"v1\"\ncandidate = \"v2\"\npercent = 0\nallow = [9001]\n";
    let host = fx::host("v1", rows(), rollout).start().await;
    let mut alice = host.user(ALICE, "Алиса");
    let mut bob = host.user(BOB, "Боб");
    alice.send_text("/reports");
    bob.send_text("/reports");
    assert_eq!(alice.expect_document().await.file_name, "Мои_отчеты.txt", "v2 for the allow list");
    bob.expect_text("последние отчеты").await;
    assert!(bob.visible().iter().all(|m| m.document.is_none()), "v1 for everyone else");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_shows_v1_and_v2_apart_on_metrics() {
    let rollout =
        "[plugins.my_reports.rollout]\nstable = \"v1\"\ncandidate = \"v2\"\npercent = 0\nallow = [9001]\n";
    let host = fx::host("v1", rows(), rollout).start().await;
    let mut alice = host.user(ALICE, "Алиса");
    let mut bob = host.user(BOB, "Боб");
    // Alice (the candidate, v2) views a report whose file is gone: a failed view.
    std::fs::remove_file(fx::reports_dir(host.dir()).join(fx::file_path(ALICE, 1))).expect("remove");
    fx::open_list(&mut alice).await;
    alice.press("Посмотреть");
    alice.expect_text("Какой отчет прислать?").await;
    alice.send_text("1");
    alice.expect_text("Прислать отчет №1").await;
    alice.press("Да, прислать");
    alice.expect_text("не найден на сервере").await;
    // Bob (stable, v1) gets his report.
    bob.send_text("/reports");
    bob.expect_text("последние отчеты").await;
    bob.press("Отчет номер 2");
    bob.expect_document().await;

    // The handler counts the view after the file went out: wait for it.
    let mut metrics = host.scrape().await;
    let served = "my_reports_actions_total{version=\"v1\",action=\"view\",outcome=\"ok\"}";
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while vox_testkit::metric(&metrics, served) != Some(1.0) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        metrics = host.scrape().await;
    }
    let v = |series: &str| {
        vox_testkit::metric(&metrics, series).unwrap_or_else(|| panic!("no `{series}` in\n{metrics}"))
    };
    assert_eq!(v("my_reports_opens_total{version=\"v1\"}"), 1.0);
    assert_eq!(v("my_reports_opens_total{version=\"v2\"}"), 1.0);
    assert_eq!(v("my_reports_actions_total{version=\"v2\",action=\"view\",outcome=\"failed\"}"), 1.0);
    assert_eq!(v("my_reports_actions_total{version=\"v2\",action=\"view\",outcome=\"ok\"}"), 0.0);
    assert_eq!(v("my_reports_actions_total{version=\"v1\",action=\"view\",outcome=\"ok\"}"), 1.0);
    assert_eq!(v("my_reports_actions_total{version=\"v1\",action=\"view\",outcome=\"failed\"}"), 0.0);
    assert_eq!(v("my_reports_missing_files_total{version=\"v2\"}"), 1.0);
    assert_eq!(v("my_reports_report_file_bytes_count{version=\"v1\"}"), 1.0);
    assert_eq!(v("vox_rollout_served_users{plugin=\"my_reports\",version=\"v1\"}"), 1.0);
    assert_eq!(v("vox_rollout_served_users{plugin=\"my_reports\",version=\"v2\"}"), 1.0);
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kill_switch_gives_everyone_stable_and_v2_buttons_say_the_menu_changed() {
    let rollout = "[plugins.my_reports.rollout]\nstable = \"v1\"\ncandidate = \"v2\"\npercent = 100\nallow = [9001]\nkill = true\n";
    let host = fx::host("v2", rows(), rollout).start().await;
    let mut alice = host.user(ALICE, "Алиса");
    alice.send_text("/reports");
    let menu = alice.expect_text("последние отчеты").await;
    alice.press_data(menu.id, "report_view:1");
    assert_eq!(alice.expect_callback_answered().await.text.as_deref(), Some("Меню обновилось"));
    alice.expect_text("Меню обновилось").await;
    alice.expect_text("последние отчеты").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_v1_off_everyone_gets_v2_its_old_buttons_still_work_and_with_both_off_the_section_is_unavailable()
 {
    let host = fx::host("v1", rows(), "[plugins.my_reports.versions]\nv1 = false\n").start().await;
    let mut bob = host.user(BOB, "Боб");
    bob.send_text("/reports");
    assert_eq!(bob.expect_document().await.file_name, "Мои_отчеты.txt");
    // v1 is retired, but old messages keep its buttons: v2's legacy shim serves them.
    bob.press_data(1, "show_all_reports");
    assert_eq!(bob.expect_document().await.file_name, "Мои_отчеты.txt", "the list, as v2 sends it");
    bob.press_data(1, &format!("send_report||{}", fx::file_path(BOB, 2)));
    let doc = bob.expect_document().await;
    assert_eq!(doc.caption.as_deref(), Some("Отчет номер 2"));
    // Safely: another user's file is refused as v1 refused it.
    bob.press_data(1, &format!("send_report||{}", fx::file_path(ALICE, 1)));
    bob.expect_callback_answered().await;
    let metrics = host.scrape().await;
    let legacy = |v: &str| {
        vox_testkit::metric(&metrics, &format!("my_reports_legacy_callbacks_total{{version=\"{v}\"}}"))
    };
    assert_eq!(
        (legacy("v1"), legacy("v2")),
        (Some(0.0), Some(3.0)),
        "counted, so v1's retirement can be judged"
    );
    assert_eq!(
        vox_testkit::metric(&metrics, "my_reports_security_refusals_total{version=\"v2\"}"),
        Some(1.0)
    );
    assert!(
        metrics.contains(
            "vox_rollout_decisions_total{plugin=\"my_reports\",version=\"v2\",reason=\"legacy_button\"}"
        ),
        "{metrics}"
    );
    host.stop().await.expect("clean stop");

    let host =
        fx::host("v1", rows(), "[plugins.my_reports.versions]\nv1 = false\nv2 = false\n").start().await;
    let mut bob = host.user(BOB, "Боб");
    bob.send_text("/reports");
    bob.expect_text("Раздел временно недоступен").await;
    bob.expect_text("Главное меню").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_rollout_refuses_to_start_naming_the_key() {
    let bad = "[plugins.my_reports.rollout]\nstable = \"v1\"\ncandidate = \"v2\"\nallow = [1]\ndeny = [1]\n";
    let err = match fx::host("v1", rows(), bad).try_start().await {
        Ok(_) => panic!("started with a user in both allow and deny"),
        Err(e) => e,
    };
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string().contains("`plugins.my_reports.rollout`: user 1 is in both `allow` and `deny`"),
        "{err}"
    );
}

const CANARY: &str = "[plugins.my_reports.rollout]\nstable = \"v1\"\ncandidate = \"v2\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_the_config_moves_users_without_a_restart_and_is_audited() {
    let host = fx::host("v1", rows(), &format!("{CANARY}percent = 0\n")).start().await;
    let mut bob = host.user(BOB, "Боб");
    bob.send_text("/reports");
    bob.expect_text("последние отчеты").await;

    host.write_config(&fx::config("v1", &format!("{CANARY}percent = 0\nallow = [{BOB}]\n")));
    host.wait_until("the edit is applied", |h| h.generation() == 2).await;
    bob.send_text("/reports");
    assert_eq!(bob.expect_document().await.file_name, "Мои_отчеты.txt", "v2 after the edit");

    let audit = std::fs::read_to_string(host.dir().join("data/rollout-audit.jsonl")).expect("audit log");
    let line: serde_json::Value =
        serde_json::from_str(audit.lines().last().expect("a line")).expect("json line");
    assert_eq!(line["generation"], 2);
    assert_eq!(line["plugin"], "my_reports");
    assert_eq!(line["old"]["rollout"]["allow"], serde_json::json!([]));
    assert_eq!(line["new"]["rollout"]["allow"], serde_json::json!([BOB]));
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_config_edit_changes_nothing() {
    let good = format!("{CANARY}percent = 0\nallow = [{ALICE}]\n");
    let host = fx::host("v1", rows(), &good).start().await;
    host.write_config(&fx::config("v1", &format!("{CANARY}percent = 150\nallow = [{ALICE}]\n")));
    host.wait_until("the edit is refused", |h| h.reload_failures() == 1).await;
    assert_eq!(host.generation(), 1);
    let mut alice = host.user(ALICE, "Алиса");
    alice.send_text("/reports");
    assert_eq!(alice.expect_document().await.file_name, "Мои_отчеты.txt", "still v2");
    assert!(!host.dir().join("data/rollout-audit.jsonl").exists(), "nothing applied, nothing audited");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kill_switch_during_an_open_v2_dialogue_tells_the_user_the_menu_changed() {
    let host = fx::host("v1", rows(), &format!("{CANARY}percent = 100\n")).start().await;
    let mut alice = host.user(ALICE, "Алиса");
    alice.send_text("/reports");
    alice.expect_document().await;
    alice.expect_text("Выберите действие").await;
    alice.press("Удалить");
    alice.expect_text("Какой отчет удалить?").await;

    host.write_config(&fx::config("v1", &format!("{CANARY}percent = 100\nkill = true\n")));
    host.wait_until("the kill switch is applied", |h| h.generation() == 2).await;
    alice.send_text("1");
    alice.expect_text("Меню обновилось").await;
    alice.expect_text("последние отчеты").await; // the current (v1) menu, shown right away
    assert!(fx::entry(&fx::reports_dir(host.dir()), ALICE, 1).is_some(), "nothing deleted");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_file_shows_the_applied_config_and_users_served_per_version() {
    let host = fx::host("v1", rows(), &format!("{CANARY}percent = 0\nallow = [{ALICE}]\n")).start().await;
    let mut alice = host.user(ALICE, "Алиса");
    let mut bob = host.user(BOB, "Боб");
    alice.send_text("/reports");
    alice.expect_document().await;
    bob.send_text("/reports");
    bob.expect_text("последние отчеты").await;
    let path = host.dir().join("data/rollout-status.json");
    let read = || -> Option<serde_json::Value> { serde_json::from_slice(&std::fs::read(&path).ok()?).ok() };
    host.wait_until("both versions are counted", |_| {
        read().is_some_and(|s| {
            s["plugins"][0]["served"]["v1"]["users"] == 1 && s["plugins"][0]["served"]["v2"]["users"] == 1
        })
    })
    .await;
    let status = read().expect("status");
    assert_eq!(status["generation"], 1);
    assert_eq!(status["plugins"][0]["id"], "my_reports");
    assert_eq!(status["plugins"][0]["config"]["rollout"]["allow"], serde_json::json!([ALICE]));
    let text = vox_host::operator::status::render(&[], Some(&status), None);
    assert!(text.contains("v2: 1 users"), "{text}");
    host.stop().await.expect("clean stop");
}

const BROKEN_CANARY: &str = "[plugins.test_canary.rollout]\nstable = \"v1\"\ncandidate = \"v2\"\npercent = 100\n\
                             [plugins.test_canary.rollout.auto_rollback]\nmax_failures = 2\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_that_throws_is_rolled_back_by_the_host_and_stays_rolled_back() {
    let host = TestHost::builder().config(BROKEN_CANARY).start().await;
    let mut alice = host.user(ALICE, "Алиса");
    for _ in 0..2 {
        alice.send_text("/canary");
        alice.expect_text("Что-то пошло не так").await;
    }
    host.wait_until("the host rolls the candidate back", |h| h.generation() == 2).await;
    alice.send_text("/canary");
    alice.expect_text("v1 ok").await;

    let file = host.dir().join("rollout-override.json");
    let overrides: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("override file")).expect("json");
    assert_eq!(overrides["test_canary"]["candidate"], "v2");
    assert!(
        overrides["test_canary"]["reason"].as_str().is_some_and(|r| r.contains("2 handler failures")),
        "{overrides}"
    );
    let audit = std::fs::read_to_string(host.dir().join("data/rollout-audit.jsonl")).expect("audit");
    assert!(audit.contains("\"cause\":\"auto_rollback\""), "{audit}");
    let saved = std::fs::read(&file).expect("override file");
    host.stop().await.expect("clean stop");

    // A restart keeps the override until an operator clears it.
    let host = TestHost::builder()
        .config(BROKEN_CANARY)
        .setup(move |dir| std::fs::write(dir.join("rollout-override.json"), saved).expect("override"))
        .start()
        .await;
    let mut alice = host.user(ALICE, "Алиса");
    alice.send_text("/canary");
    alice.expect_text("v1 ok").await;
    // Clearing it (the operator removes the plugin from the file) puts the candidate back.
    std::fs::remove_file(host.dir().join("rollout-override.json")).expect("clear");
    host.wait_until("the override is cleared", |h| h.generation() == 2).await;
    alice.send_text("/canary");
    alice.expect_text("Что-то пошло не так").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_the_candidate_reports_rolls_it_back_at_once() {
    let host = TestHost::builder().config(BROKEN_CANARY).start().await;
    let mut alice = host.user(ALICE, "Алиса");
    alice.send_text("/canary_report");
    alice.expect_text("v2 reported").await;
    host.wait_until("the host rolls the candidate back", |h| h.generation() == 2).await;
    alice.send_text("/canary");
    alice.expect_text("v1 ok").await;
    host.stop().await.expect("clean stop");
}

/// Config reload checks my-reports' own keys with its typed config: an invalid
/// value is refused naming the key (the running config stays), a valid one is
/// applied live — here the sent list's time-to-live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugins_own_keys_are_checked_and_applied_on_reload() {
    let host = fx::host("v2", rows(), "").start().await;
    host.write_config(&fx::config("v2", "max_list_bytes = 5\n"));
    host.wait_until("the invalid key is refused", |h| h.reload_failures() == 1).await;
    let error = host.runtime().reload_stats().last_error.lock().expect("lock").clone().unwrap_or_default();
    assert!(error.contains("`plugins.my_reports.max_list_bytes`"), "{error}");

    host.write_config(&fx::config("v2", "snapshot_ttl_secs = 30\n"));
    host.wait_until("the new time-to-live is applied", |h| {
        h.runtime().reload_stats().applied.load(std::sync::atomic::Ordering::Relaxed) == 1
    })
    .await;
    let mut alice = host.user(ALICE, "Алиса");
    alice.send_text("/reports");
    alice.expect_document().await;
    alice.expect_text("Выберите действие").await;
    host.clock().advance(std::time::Duration::from_secs(31));
    alice.press("Посмотреть");
    alice.expect_text("Список устарел").await;
    host.stop().await.expect("clean stop");
}
