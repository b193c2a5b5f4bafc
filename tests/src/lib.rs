//! # vox-testkit — the real host against a fake Telegram, driven by scripted users
//!
//! ```no_run
//! # async fn demo() {
//! use vox_testkit::TestHost;
//!
//! let host = TestHost::builder().start().await;
//! let mut alice = host.user(42, "Алиса");
//! alice.send_text("/start");
//! let menu = alice.expect_text("Главное меню").await;
//! assert!(menu.button("Мои отчеты").is_some());
//! host.stop().await;
//! # }
//! ```
//!
//! # Layout
//! - [`host`]: [`TestHost`] and its builder — a real config file, a temp data
//!   directory, the host runtime serving the fake Bot API.
//! - [`http`]: [`http_get`] and [`http_post`], minimal HTTP for `/healthz`, `/metrics` and the webhook.
//! - [`tempdir`]: a temp directory removed on drop.
//! - the fake Bot API and the scripted user are re-exported from `vox-fake-bot-api`.

pub mod host;
pub mod http;
pub mod tempdir;

pub use host::{TestHost, TestHostBuilder, free_port, init_test_logging};

/// `plugins/README.md`, compiled: every example a plugin author reads there
/// is a doctest of this crate (it has the SDK and the test kit at hand).
#[cfg(doctest)]
#[doc = include_str!("../../plugins/README.md")]
pub struct PluginsReadme;
pub use http::{http_get, http_post, metric};
pub use tempdir::TempDir;
pub use vox_fake_bot_api::*;
