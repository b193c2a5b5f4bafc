//! The plugin in the real host against the test kit's fake Telegram.

use vox_testkit::TestHost;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_is_asked_for_a_name_and_greeted() {
    // Naming the crate links it, and linking is what registers the plugin.
    assert_eq!(vox___CRATE__::MANIFEST.id, "__ID__");
    let host = TestHost::builder().config("[plugins.__ID__]\n").start().await;
    let mut anna = host.user(1, "Анна");
    anna.send_text("/__ID__");
    anna.expect_text("Как вас зовут?").await;
    anna.send_text("Анна");
    anna.expect_text("Приятно познакомиться, Анна!").await;
    host.stop().await.expect("clean stop");
}
