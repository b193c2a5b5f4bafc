//! my-reports v1 end to end: VoxPersona's legacy flow, minus the path traversal.

use vox_testkit::TestHost;

use crate::reports_fixture::{self as fx, reports_dir};

const ALICE: i64 = 8001;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_menu_shows_the_last_five_reports_and_sends_one() {
    let host = fx::host("v1", fx::reports(ALICE, 7), "").start().await;
    let mut alice = host.user(ALICE, "Алиса");
    alice.send_text("/start");
    alice.expect_text("Главное меню").await;
    alice.press("Мои отчеты");
    let menu = alice.expect_text("последние отчеты").await;
    let reports: Vec<_> = menu
        .buttons()
        .filter(|b| b.callback_data.as_deref().is_some_and(|d| d.starts_with("send_report||")))
        .collect();
    assert_eq!(reports.len(), 5, "{:?}", menu.button_labels());
    assert!(reports[0].text.contains("Отчет номер 7"), "newest first: {:?}", menu.button_labels());
    assert!(menu.button("Показать все").is_some() && menu.button("Назад").is_some());

    alice.press("Отчет номер 6");
    let doc = alice.expect_document().await;
    assert_eq!(doc.file_name, "voxpersona_20250101_100006.txt");
    assert!(doc.text().contains("Отчет №6"));
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_all_lists_the_last_ten_with_totals() {
    let host = fx::host("v1", fx::reports(ALICE, 12), "").start().await;
    let mut alice = host.user(ALICE, "Алиса");
    alice.send_text("/reports");
    alice.expect_text("последние отчеты").await;
    alice.press("Показать все");
    let all = alice.expect_text("последние 10 из 12").await;
    assert!(
        all.body().contains("Отчет номер 12") && !all.body().contains("Отчет номер 2 "),
        "{}",
        all.body()
    );
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_send_report_paths_are_refused() {
    let mut rows = fx::reports(ALICE, 1);
    rows.extend(fx::reports(8002, 1));
    let host = fx::host("v1", rows, "").start().await;
    let dir = reports_dir(host.dir());
    std::fs::write(dir.join("secret.txt"), "secret").expect("secret");
    std::fs::write(dir.join("user_8001/not_indexed.txt"), "x").expect("unindexed");
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("user_8001/link.txt")).expect("symlink");
    let mut alice = host.user(ALICE, "Алиса");
    alice.send_text("/reports");
    let menu = alice.expect_text("последние отчеты").await;
    for forged in [
        "send_report||../secret.txt".to_owned(),
        "send_report||user_8001/../secret.txt".to_owned(),
        "send_report||/etc/passwd".to_owned(),
        format!("send_report||{}", fx::file_path(8002, 1)),
        "send_report||user_8001/not_indexed.txt".to_owned(),
        "send_report||user_8001/link.txt".to_owned(),
    ] {
        alice.press_data(menu.id, &forged);
        let answer = alice.expect_callback_answered().await;
        assert_eq!(answer.text.as_deref(), Some("Этот отчет недоступен."), "{forged}");
    }
    assert!(
        alice.visible().iter().all(|m| m.document.is_none()),
        "nothing was sent:\n{}",
        alice.transcript()
    );
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_buttons_of_old_messages_keep_working_under_v2() {
    let host = fx::host("v2", fx::reports(ALICE, 2), "").start().await;
    let mut alice = host.user(ALICE, "Алиса");
    alice.send_text("/start");
    let menu = alice.expect_text("Главное меню").await;
    alice.press_data(menu.id, &format!("send_report||{}", fx::file_path(ALICE, 1)));
    assert_eq!(alice.expect_document().await.file_name, "voxpersona_20250101_100001.txt");
    alice.press_data(menu.id, "show_all_reports");
    alice.expect_text("последние 2 из 2").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reports_says_so() {
    let host = TestHost::builder()
        .config("[plugins.my_reports]\nreports_dir = \"{dir}/reports\"\nversion = \"v1\"\n")
        .start()
        .await;
    let mut alice = host.user(ALICE, "Алиса");
    alice.send_text("/reports");
    alice.expect_text("нет сохраненных отчетов").await;
    host.stop().await.expect("clean stop");
}
