//! Dialogue state through the host: steps, their time-to-live, leaving a dialogue.

use std::time::Duration;

use vox_testkit::TestHost;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_receives_the_next_text() {
    let host = TestHost::builder().start().await;
    let mut alice = host.user(3001, "Алиса");
    alice.send_text("/ask");
    alice.expect_text("Как вас зовут?").await;
    alice.send_text("Алиса");
    alice.expect_text("Ответ: Алиса").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_step_is_dropped_and_its_plugin_tells_the_user() {
    let host = TestHost::builder().start().await;
    let mut alice = host.user(3002, "Алиса");
    alice.send_text("/ask");
    alice.expect_text("Как вас зовут?").await;
    host.clock().advance(Duration::from_secs(61));
    alice.send_text("Алиса");
    alice.expect_text("Время вышло: ask_name").await;
    alice.expect_silence(Duration::from_millis(200)).await;
    alice.send_text("Алиса");
    alice.expect_text("Я не понял").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_within_its_time_to_live_still_answers() {
    let host = TestHost::builder().start().await;
    let mut alice = host.user(3003, "Алиса");
    alice.send_text("/ask");
    alice.expect_text("Как вас зовут?").await;
    host.clock().advance(Duration::from_secs(59));
    alice.send_text("Алиса");
    alice.expect_text("Ответ: Алиса").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_plugins_command_leaves_the_dialogue() {
    let host = TestHost::builder().start().await;
    let mut alice = host.user(3004, "Алиса");
    alice.send_text("/ask");
    alice.expect_text("Как вас зовут?").await;
    alice.send_text("/menu");
    alice.expect_text("Главное меню").await;
    alice.send_text("Алиса");
    alice.expect_text("Я не понял").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_button_in_a_step_ends_the_dialogue() {
    let host = TestHost::builder().start().await;
    let mut alice = host.user(3005, "Алиса");
    alice.send_text("/ask");
    alice.expect_text("Как вас зовут?").await;
    alice.press("Отмена");
    assert_eq!(alice.expect_callback_answered().await.text.as_deref(), Some("Отменено"));
    alice.expect_text("Вопрос отменен").await;
    alice.send_text("Алиса");
    alice.expect_text("Я не понял").await;
    host.stop().await.expect("clean stop");
}

/// A plugin that answers the press inside `on_expired` has answered it: the
/// host answers no second time (Telegram refuses a second answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_answered_in_on_expired_is_answered_once() {
    let host = TestHost::builder().start().await;
    let mut alice = host.user(3006, "Алиса");
    alice.send_text("/ask");
    alice.expect_text("Как вас зовут?").await;
    host.clock().advance(Duration::from_secs(61));
    alice.press("Отмена");
    assert_eq!(alice.expect_callback_answered().await.text.as_deref(), Some("Время вышло"));
    alice.expect_text("Время вышло: ask_name").await;
    alice.expect_silence(Duration::from_millis(200)).await;
    host.stop().await.expect("clean stop: no callback answered twice");
}
