//! The main menu as a user meets it.

use vox_testkit::TestHost;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_shows_the_main_menu_with_the_reports_button() {
    let host = TestHost::builder().start().await;
    let mut alice = host.user(1001, "Алиса");
    alice.send_text("/start");
    let menu = alice.expect_text("Главное меню").await;
    let button = menu.button("Мои отчеты").expect("the reports button");
    assert_eq!(button.callback_data.as_deref(), Some("show_my_reports"));
    assert!(host.api().calls().iter().any(|c| c.method == "setMyCommands"), "commands published");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_menu_replaces_the_old_one_and_back_shows_it_again() {
    let host = TestHost::builder().start().await;
    let mut bob = host.user(1002, "Боб");
    bob.send_text("/menu");
    let first = bob.expect_text("Главное меню").await;
    bob.press("Помощь");
    bob.expect_callback_answered().await;
    let help = bob.expect_text("Что умеет бот").await;
    assert!(
        host.api().message(bob.chat_id(), first.id).is_some_and(|m| m.deleted),
        "the tracker deleted the old menu:\n{}",
        bob.transcript()
    );
    bob.press("Назад");
    bob.expect_callback_answered().await;
    bob.expect_text("Главное меню").await;
    assert!(host.api().message(bob.chat_id(), help.id).is_some_and(|m| m.deleted));
    assert_eq!(bob.visible().len(), 1, "one menu left:\n{}", bob.transcript());
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_explains_my_reports_in_russian() {
    let host = TestHost::builder().start().await;
    let mut bob = host.user(1003, "Боб");
    bob.send_text("/help");
    let help = bob.expect_text("Что умеет бот").await;
    let text = help.text.unwrap_or_default();
    for part in [
        "📄 Мои отчеты",
        "Мои_отчеты.txt",
        "Номер отчета — число после №",
        "Посмотреть",
        "Переименовать",
        "Удалить",
        "Фильтр",
        "CSV",
        "JSON",
        "«Список устарел»",
        "/cancel",
    ] {
        assert!(text.contains(part), "{part:?} missing from /help:\n{text}");
    }
    host.stop().await.expect("clean stop");
}
