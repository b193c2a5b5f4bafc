//! Routing rules the host enforces for every plugin: outdated buttons, unknown
//! input, /cancel, and chats served in parallel but each in order.

use std::time::Duration;

use vox_testkit::TestHost;

use crate::support::GATE;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_nobody_owns_is_answered_as_outdated() {
    let host = TestHost::builder().start().await;
    let mut alice = host.user(2001, "Алиса");
    alice.send_text("/start");
    let menu = alice.expect_text("Главное меню").await;
    alice.press_data(menu.id, "removed_feature:42");
    let answer = alice.expect_callback_answered().await;
    assert!(answer.text.as_deref().is_some_and(|t| t.contains("устарела")), "{answer:?}");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_outside_a_dialogue_and_unknown_commands_get_a_way_forward() {
    let host = TestHost::builder().start().await;
    let mut alice = host.user(2002, "Алиса");
    alice.send_text("привет");
    assert!(alice.expect_message().await.body().contains("/menu"));
    alice.send_text("/nosuchcommand");
    assert!(alice.expect_text("Неизвестная команда").await.body().contains("/menu"));
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_clears_the_dialogue_and_says_so() {
    let host = TestHost::builder().start().await;
    let mut alice = host.user(2003, "Алиса");
    alice.send_text("/cancel");
    alice.expect_text("Нечего отменять").await;
    alice.send_text("/ask");
    alice.expect_text("Как вас зовут?").await;
    alice.send_text("/cancel");
    alice.expect_text("Действие отменено").await;
    alice.send_text("Алиса");
    alice.expect_text("Я не понял").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_are_served_in_parallel_and_each_chat_in_order() {
    let host = TestHost::builder().start().await;
    let mut slow = host.user(2004, "Медленный");
    let mut fast = host.user(2005, "Быстрый");
    slow.send_text("/block");
    slow.send_text("/menu");
    // The first chat is stuck in its handler; the second is served meanwhile.
    fast.send_text("/menu");
    fast.expect_text("Главное меню").await;
    slow.expect_silence(Duration::from_millis(200)).await;
    GATE.add_permits(1);
    slow.expect_text("разблокирован").await;
    slow.expect_text("Главное меню").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_one_group_have_separate_dialogues() {
    let host = TestHost::builder().start().await;
    let mut alice = host.user(2006, "Алиса").in_chat(-500);
    let mut bob = host.user(2007, "Боб").in_chat(-500);
    alice.send_text("/ask");
    alice.expect_text("Как вас зовут?").await;
    bob.send_text("Боб");
    bob.expect_text("Я не понял").await;
    alice.send_text("Алиса");
    alice.expect_text("Ответ: Алиса").await;
    host.stop().await.expect("clean stop");
}
