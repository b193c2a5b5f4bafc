//! `vox-host run` killed in the middle of a dialogue — SIGKILL (a crash, the
//! OOM killer) and SIGTERM (systemd's stop) — and started again on the same
//! data directory: the user's next press or answer finishes what they
//! started, checked in the reports directory. The state store is the default
//! one, SQLite under `host.data_dir`. In webhook mode the same file keeps the
//! updates Telegram was told were taken: a host killed with some still queued
//! handles them when it starts again.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use vox_fake_bot_api::{FakeBotApi, Fault, ScriptedUser};
use vox_report_store::Storage;

const BIN: &str = env!("CARGO_BIN_EXE_vox-host");
const USER: i64 = 4242;

/// How the host is stopped.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Kill,
    Term,
}

struct Host(Child);

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Setup {
    dir: PathBuf,
    api: FakeBotApi,
    /// Environment of every start (webhook mode's, when set).
    env: Vec<(&'static str, String)>,
}

impl Setup {
    async fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vox-restart-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let storage = Storage::open(dir.join("reports")).expect("reports dir");
        vox_report_store::demo::seed_demo(&storage, USER).expect("seed");
        std::fs::write(
            dir.join("vox.toml"),
            format!(
                "[plugins.my_reports]\nversion = \"v2\"\nreports_dir = \"{}\"\n",
                dir.join("reports").display()
            ),
        )
        .expect("config");
        Self { dir, api: FakeBotApi::start().await.expect("fake API"), env: Vec::new() }
    }

    /// As [`Setup::new`], the host taking updates by webhook on a port of its own.
    async fn webhook(tag: &str) -> Self {
        let mut setup = Self::new(tag).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        setup.env = vec![
            ("VOX__TELEGRAM__MODE", "webhook".into()),
            ("VOX__TELEGRAM__WEBHOOK__URL", format!("http://127.0.0.1:{port}/telegram")),
            ("VOX__TELEGRAM__WEBHOOK__LISTEN", format!("127.0.0.1:{port}")),
            ("VOX__LOG__FORMAT", "json".into()),
        ];
        setup
    }

    /// Starts `vox-host run` and waits until it is about to poll.
    async fn start(&self) -> Host {
        let calls = self.api.calls().len();
        let log =
            std::fs::File::options().create(true).append(true).open(self.dir.join("host.log")).expect("log");
        let child = Command::new(BIN)
            .arg("--config")
            .arg(self.dir.join("vox.toml"))
            .arg("run")
            .env("VOX__TELEGRAM__TOKEN", self.api.token())
            .env("VOX__TELEGRAM__API_URL", self.api.url())
            .env("VOX__TELEGRAM__POLL_TIMEOUT_SECS", "1")
            .env("VOX__HOST__DATA_DIR", self.dir.join("data"))
            .env("VOX__OPS__LISTEN", "")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("host starts");
        let host = Host(child);
        let ready = self.api.wait_call(calls, |c| c.method == "getMe", Duration::from_secs(20)).await;
        assert!(ready.is_some(), "the host never called getMe: {}", self.log());
        host
    }

    async fn restart(&self, mut host: Host, how: Stop) -> Host {
        match how {
            Stop::Kill => host.0.kill().expect("SIGKILL"),
            Stop::Term => {
                let status = Command::new("kill")
                    .args(["-TERM", &host.0.id().to_string()])
                    .status()
                    .expect("kill runs");
                assert!(status.success());
            }
        }
        let status = host.0.wait().expect("the host ends");
        if let Stop::Term = how {
            assert!(status.success(), "SIGTERM is a clean stop: {status:?}\n{}", self.log());
        }
        self.start().await
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("host.log")).unwrap_or_default()
    }

    fn storage(&self) -> Storage {
        Storage::open(self.dir.join("reports")).expect("reports dir")
    }

    fn user(&self) -> ScriptedUser {
        self.api.user(USER, "Алиса").with_wait(Duration::from_secs(20))
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn title(storage: &Storage, number: u32) -> Option<String> {
    storage.get_blocking(USER, number).expect("read").map(|r| r.title)
}

async fn open_list(user: &mut ScriptedUser) {
    user.send_text("/reports");
    user.expect_document().await;
    user.expect_text("Выберите действие").await;
}

async fn delete_confirmed_across(how: Stop, setup: &Setup) {
    let host = setup.start().await;
    let mut alice = setup.user();
    open_list(&mut alice).await;
    alice.press("Удалить");
    alice.expect_text("Какой отчет удалить?").await;
    alice.send_text("3");
    alice.expect_text("Удалить отчет №3").await;
    let host = setup.restart(host, how).await;
    alice.press("Да, удалить");
    alice.expect_text("удален").await;
    assert_eq!(title(&setup.storage(), 3), None, "{how:?}: the confirmed delete deleted");
    drop(host);
}

async fn rename_typed_across(how: Stop, setup: &Setup) {
    let host = setup.start().await;
    let mut alice = setup.user();
    open_list(&mut alice).await;
    alice.press("Переименовать");
    alice.send_text("2");
    alice.expect_text("Введите новое название для отчета №2").await;
    let host = setup.restart(host, how).await;
    alice.send_text("Название после сбоя");
    alice.expect_text("→ «Название после сбоя»").await;
    let host = setup.restart(host, how).await;
    alice.press("Да, переименовать");
    alice.expect_text("Отчет №2 переименован").await;
    assert_eq!(title(&setup.storage(), 2).as_deref(), Some("Название после сбоя"), "{how:?}");
    drop(host);
}

async fn view_confirmed_across(how: Stop, setup: &Setup) {
    let host = setup.start().await;
    let mut alice = setup.user();
    open_list(&mut alice).await;
    let host = setup.restart(host, how).await;
    alice.press("Посмотреть");
    alice.send_text("1");
    alice.expect_text("Прислать отчет №1").await;
    let host = setup.restart(host, how).await;
    alice.press("Да, прислать");
    let doc = alice.expect_document().await;
    assert!(doc.caption.as_deref().is_some_and(|c| c.starts_with("№1:")), "{how:?}: {:?}", doc.caption);
    drop(host);
}

/// The questions that wait for a typed number: each answered after a restart.
async fn numbers_typed_across(how: Stop, setup: &Setup) {
    let mut host = setup.start().await;
    let mut alice = setup.user();
    for (button, question, confirm, yes, done) in [
        ("Посмотреть", "Какой отчет прислать?", "Прислать отчет №4", "Да, прислать", "Отчет №4 отправлен"),
        ("Удалить", "Какой отчет удалить?", "Удалить отчет №4", "Да, удалить", "удален"),
    ] {
        open_list(&mut alice).await;
        alice.press(button);
        alice.expect_text(question).await;
        host = setup.restart(host, how).await;
        alice.send_text("4");
        alice.expect_text(confirm).await;
        alice.press(yes);
        alice.expect_text(done).await;
    }
    assert_eq!(
        title(&setup.storage(), 4),
        None,
        "{how:?}: the delete whose number came after the restart deleted"
    );
    open_list(&mut alice).await;
    alice.press("Переименовать");
    alice.expect_text("Какой отчет переименовать?").await;
    host = setup.restart(host, how).await;
    alice.send_text("5");
    alice.expect_text("Введите новое название для отчета №5").await;
    alice.send_text("Пятый");
    alice.expect_text("→ «Пятый»").await;
    alice.press("Да, переименовать");
    alice.expect_text("Отчет №5 переименован").await;
    assert_eq!(title(&setup.storage(), 5).as_deref(), Some("Пятый"), "{how:?}");
    drop(host);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_host_finishes_every_dialogue_after_it_is_started_again() {
    let setup = Setup::new("kill").await;
    delete_confirmed_across(Stop::Kill, &setup).await;
    rename_typed_across(Stop::Kill, &setup).await;
    view_confirmed_across(Stop::Kill, &setup).await;
    numbers_typed_across(Stop::Kill, &setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_stopped_with_sigterm_finishes_every_dialogue_after_it_is_started_again() {
    let setup = Setup::new("term").await;
    delete_confirmed_across(Stop::Term, &setup).await;
    rename_typed_across(Stop::Term, &setup).await;
    view_confirmed_across(Stop::Term, &setup).await;
    numbers_typed_across(Stop::Term, &setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_killed_in_webhook_mode_handles_the_updates_it_had_accepted_when_started_again() {
    let setup = Setup::webhook("inbox").await;
    let host = setup.start().await;
    let mut alice = setup.user();
    // The reply to the first update hangs, so the next ones wait in the chat's queue.
    setup.api.fault(Some("sendMessage"), Fault::Delay(Duration::from_secs(60)), 1);
    alice.send_text("/start");
    alice.send_text("/reports");
    alice.send_text("/start");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while setup.api.webhook_deliveries().iter().filter(|d| d.status == Some(200)).count() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all delivered: {:?}",
            setup.api.webhook_deliveries()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(setup.api.messages(USER).is_empty(), "nothing handled yet");
    setup.api.clear_faults();
    let host = setup.restart(host, Stop::Kill).await;
    // The three updates Telegram was told were taken: the list is one of them.
    alice.expect_document().await;
    alice.expect_text("Выберите действие").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !setup.log().contains("handling the updates the last run accepted and did not handle") {
        assert!(tokio::time::Instant::now() < deadline, "no replay logged: {}", setup.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let replayed = setup.log().lines().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        (v["message"] == "handling the updates the last run accepted and did not handle")
            .then(|| v["updates"].clone())
    });
    assert_eq!(replayed, Some(serde_json::json!(3)), "all three replayed: {}", setup.log());
    let lists = setup.api.all_messages(USER).iter().filter(|m| m.document.is_some()).count();
    assert_eq!(lists, 1, "the list was sent once");
    // Handled ones are forgotten: another restart replays nothing.
    let host = setup.restart(host, Stop::Term).await;
    alice.send_text("/reports");
    alice.expect_document().await;
    assert_eq!(setup.api.all_messages(USER).iter().filter(|m| m.document.is_some()).count(), 2);
    drop(host);
}
