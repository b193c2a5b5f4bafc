//! A failing or panicking handler: the user gets an apology, the host keeps serving.

use vox_testkit::TestHost;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_apologizes_and_the_host_keeps_serving_everyone() {
    let host = TestHost::builder().start().await;
    let mut alice = host.user(4001, "Алиса");
    let mut bob = host.user(4002, "Боб");
    alice.send_text("/panic");
    alice.expect_text("Что-то пошло не так").await;
    bob.send_text("/start");
    bob.expect_text("Главное меню").await;
    alice.send_text("/start");
    alice.expect_text("Главное меню").await;
    host.stop().await.expect("a clean stop after a panic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_apologizes() {
    let host = TestHost::builder().start().await;
    let mut alice = host.user(4003, "Алиса");
    alice.send_text("/fail");
    alice.expect_text("Что-то пошло не так").await;
    alice.send_text("/badstep");
    alice.expect_text("Что-то пошло не так").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_whose_handler_panics_is_still_answered() {
    let host = TestHost::builder().start().await;
    let mut alice = host.user(4004, "Алиса");
    alice.send_text("/start");
    let menu = alice.expect_text("Главное меню").await;
    alice.press_data(menu.id, "crash_button");
    let answer = alice.expect_callback_answered().await;
    assert!(answer.text.as_deref().is_some_and(|t| t.contains("Что-то пошло не так")), "{answer:?}");
    alice.expect_text("Что-то пошло не так").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_plugin_says_the_section_is_unavailable() {
    let host = TestHost::builder().config("[plugins.test_ask]\nenabled = false\n").start().await;
    let mut alice = host.user(4005, "Алиса");
    alice.send_text("/ask");
    alice.expect_text("Раздел временно недоступен").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_config_refuses_to_start_with_the_key() {
    let err = match TestHost::builder().config("[plugins.nobody]\n").try_start().await {
        Ok(_) => panic!("started with a section for an unlinked plugin"),
        Err(e) => e,
    };
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("`plugins.nobody`"), "{err}");
}
