//! [`TestHost`]: starts the real host runtime (the same `HostBuilder` and `run`
//! path as the binary) against an in-process fake Bot API, with a real config
//! file in a temp directory and a clock tests can move forward.

use std::time::Duration;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use vox_fake_bot_api::{FakeBotApi, ScriptedUser};

use vox_host::{HostBuilder, Runtime, Settings};
use vox_plugin::Clock;

use crate::TempDir;

/// Installs a test-friendly log subscriber once (filter from `RUST_LOG`, default `warn`).
pub fn init_test_logging() {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_test_writer()
        .try_init();
}

/// Prepares the test's temp directory before the host starts.
type SetupFn = Box<dyn FnOnce(&std::path::Path) + Send>;

/// How a test host is set up.
#[derive(Default)]
pub struct TestHostBuilder {
    config: String,
    env: Vec<(String, String)>,
    setup: Vec<SetupFn>,
    faults: Vec<(String, vox_fake_bot_api::Fault, usize)>,
    webhook: bool,
}

/// A running host serving a fake Bot API.
pub struct TestHost {
    api: FakeBotApi,
    clock: Clock,
    dir: TempDir,
    config_path: PathBuf,
    env: Vec<(String, String)>,
    /// `None` only between a restart's stop and start, so the old host's
    /// state store is let go before the new one opens it.
    runtime: Option<Arc<Runtime>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), vox_host::Error>>>,
}

/// One started host process's handles.
struct Started {
    runtime: Arc<Runtime>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), vox_host::Error>>,
}

/// Loads the config as the binary would and starts the host on `api`;
/// returns once it is about to poll.
async fn launch(
    api: &FakeBotApi,
    clock: &Clock,
    config_path: &std::path::Path,
    env: &[(String, String)],
) -> Result<Started, vox_host::Error> {
    let settings = Settings::load(Some(config_path), env.to_vec()).map_err(vox_host::StartError::from)?;
    let bot = vox_host::bot(&settings)?;
    let calls_before = api.calls().len();
    let host = HostBuilder::new(settings)
        .clock(clock.clone())
        .watch_config(config_path.to_owned(), env.to_vec())
        .build(bot)?;
    let runtime = Arc::clone(host.runtime());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        host.run(async {
            let _ = stopped.await;
        })
        .await
        .map_err(vox_host::Error::from)
    });
    // getMe is the dispatcher's last call before it polls; updates pushed from
    // now on wait in the fake's queue until the first getUpdates takes them.
    let ready = api.wait_call(calls_before, |c| c.method == "getMe", Duration::from_secs(10)).await;
    assert!(ready.is_some(), "the host never called getMe");
    Ok(Started { runtime, stop, task })
}

impl TestHostBuilder {
    /// TOML written to the config file layered over the defaults. `{dir}` is
    /// replaced with the test's temp directory.
    pub fn config(mut self, toml: &str) -> Self {
        self.config.push_str(toml);
        self.config.push('\n');
        self
    }

    /// An environment variable as the host would read it (`VOX__LOG__LEVEL`, ...).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Prepares files in the test's temp directory before the host starts
    /// (seed a reports directory, write a data file...).
    pub fn setup(mut self, f: impl FnOnce(&std::path::Path) + Send + 'static) -> Self {
        self.setup.push(Box::new(f));
        self
    }

    /// Queues a fault of the fake Bot API before the host makes its first call
    /// (the next `times` calls of `method` get it).
    pub fn fault(mut self, method: &str, fault: vox_fake_bot_api::Fault, times: usize) -> Self {
        self.faults.push((method.to_owned(), fault, times));
        self
    }

    /// Runs the host in webhook mode: its listener on a free 127.0.0.1 port,
    /// given to the fake Bot API with `setWebhook`, which then delivers every
    /// update there (the same port again after a restart).
    pub fn webhook(mut self) -> Self {
        self.webhook = true;
        self
    }

    /// Starts the host and waits until it is about to poll; panics with the reason if it cannot start.
    pub async fn start(self) -> TestHost {
        match self.try_start().await {
            Ok(host) => host,
            Err(e) => panic!("test host did not start: {e}"),
        }
    }

    /// Starts the host, returning the start-up error instead of panicking.
    pub async fn try_start(self) -> Result<TestHost, vox_host::Error> {
        init_test_logging();
        let dir = TempDir::new().expect("temp dir");
        let api = FakeBotApi::start().await.expect("fake Bot API binds 127.0.0.1");
        for (method, fault, times) in self.faults {
            api.fault(Some(&method), fault, times);
        }
        let config_path = dir.path().join("config.toml");
        let dir_str = dir.path().display().to_string();
        std::fs::write(&config_path, self.config.replace("{dir}", &dir_str)).expect("write config");
        for f in self.setup {
            f(dir.path());
        }

        let mut env = vec![
            ("VOX__TELEGRAM__TOKEN".to_owned(), api.token().to_owned()),
            ("VOX__TELEGRAM__API_URL".to_owned(), api.url()),
            // Short polls keep shutdown quick.
            ("VOX__TELEGRAM__POLL_TIMEOUT_SECS".to_owned(), "1".to_owned()),
            ("VOX__HOST__DATA_DIR".to_owned(), format!("{dir_str}/data")),
            // Tests run side by side: each host's /healthz and /metrics on a port of its own.
            ("VOX__OPS__LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
            // Scripted users type faster than people: Telegram's per-chat pace
            // would turn a 20-step test into a 20-second one. The flood limits
            // have tests of their own (e2e `rate_limits`), which turn this on.
            ("VOX__TELEGRAM__THROTTLE".to_owned(), "false".to_owned()),
        ];
        if self.webhook {
            let port = free_port();
            env.push(("VOX__TELEGRAM__MODE".to_owned(), "webhook".to_owned()));
            env.push(("VOX__TELEGRAM__WEBHOOK__LISTEN".to_owned(), format!("127.0.0.1:{port}")));
            env.push(("VOX__TELEGRAM__WEBHOOK__URL".to_owned(), format!("http://127.0.0.1:{port}/telegram")));
        }
        env.extend(self.env);
        let clock = Clock::default();
        let Started { runtime, stop, task } = launch(&api, &clock, &config_path, &env).await?;
        Ok(TestHost {
            api,
            clock,
            dir,
            config_path,
            env,
            runtime: Some(runtime),
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A port free on 127.0.0.1 right now (the OS picks it; nothing holds it after).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

impl TestHost {
    /// A builder with the default config.
    pub fn builder() -> TestHostBuilder {
        TestHostBuilder::default()
    }

    /// A user in a private chat with the bot (chat id = user id).
    pub fn user(&self, id: i64, first_name: &str) -> ScriptedUser {
        self.api.user(id, first_name)
    }

    /// The fake Bot API: recorded calls, chats, faults.
    pub fn api(&self) -> &FakeBotApi {
        &self.api
    }

    /// The host's clock; `advance` it to expire steps without waiting.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The test's temp directory (holds `config.toml`).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The config file the host watches.
    pub fn config_path(&self) -> &std::path::Path {
        &self.config_path
    }

    /// Replaces the config file (`{dir}` expands as in the builder); the host
    /// picks the change up by itself.
    pub fn write_config(&self, toml: &str) {
        let text = toml.replace("{dir}", &self.dir.path().display().to_string());
        // Write-then-rename, as editors and deploy tools do.
        let tmp = self.config_path.with_extension("toml.tmp");
        std::fs::write(&tmp, text).expect("write config");
        std::fs::rename(&tmp, &self.config_path).expect("replace config");
    }

    /// The host's runtime (metrics, ops address, live config).
    pub fn runtime(&self) -> &Arc<Runtime> {
        self.runtime.as_ref().expect("the host is running")
    }

    /// The webhook URL the host gave Telegram (webhook mode only).
    pub fn webhook_url(&self) -> Option<String> {
        let key = "VOX__TELEGRAM__WEBHOOK__URL";
        self.env.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    /// Replaces an environment variable the next [`TestHost::restart`] starts with.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// `http://<ops address>` of this host's `/healthz` and `/metrics`.
    pub fn ops_url(&self) -> String {
        let addr = self.runtime().ops_addr().expect("tests run the ops endpoints");
        format!("http://{addr}")
    }

    /// `GET /metrics` (asserting it answers 200): the Prometheus text.
    pub async fn scrape(&self) -> String {
        let (status, body) =
            crate::http_get(&format!("{}/metrics", self.ops_url())).await.expect("GET /metrics");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The live config's generation (1 at start, +1 per applied change).
    pub fn generation(&self) -> u64 {
        self.runtime().live().generation
    }

    /// Config changes refused so far.
    pub fn reload_failures(&self) -> u64 {
        self.runtime().reload_stats().failed.load(Ordering::Relaxed)
    }

    /// Waits until `check` holds (polled every 20 ms), up to 10 s (CI machines are busy).
    #[track_caller]
    pub fn wait_until<'a>(
        &'a self,
        what: &'static str,
        check: impl Fn(&TestHost) -> bool + 'a,
    ) -> impl std::future::Future<Output = ()> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while !check(self) {
                assert!(tokio::time::Instant::now() < deadline, "{caller}: timed out waiting until {what}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// Restarts the host as a deploy does: stops it gracefully (as on SIGTERM:
    /// in-flight updates finish), then starts a new one from the same config
    /// file, data directory, fake Bot API and clock. Chats and their buttons
    /// stay as users see them; what the host kept in memory is gone.
    pub async fn restart(&mut self) {
        self.shut_down().await.expect("the host stopped cleanly before its restart");
        let started = launch(&self.api, &self.clock, &self.config_path, &self.env).await;
        let Started { runtime, stop, task } =
            started.unwrap_or_else(|e| panic!("the host did not start again: {e}"));
        self.runtime = Some(runtime);
        self.stop = Some(stop);
        self.task = Some(task);
    }

    /// Stops the host gracefully (in-flight updates finish) and returns how it ended.
    ///
    /// Also checks an invariant every test gets for free: no callback query was
    /// answered twice (Telegram refuses the second answer with a 400).
    pub async fn stop(mut self) -> Result<(), vox_host::Error> {
        let refused: Vec<String> = self
            .api
            .calls()
            .into_iter()
            .filter(|c| c.method == "answerCallbackQuery" && c.status == 400)
            .map(|c| format!("{} {}", c.params, c.description.unwrap_or_default()))
            .collect();
        assert!(refused.is_empty(), "callback queries answered twice or unknown: {refused:?}");
        self.shut_down().await
    }

    async fn shut_down(&mut self) -> Result<(), vox_host::Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.runtime = None;
        match self.task.take() {
            Some(task) => match tokio::time::timeout(Duration::from_secs(15), task).await {
                Ok(Ok(result)) => result,
                Ok(Err(join)) => panic!("host task failed: {join}"),
                Err(_) => panic!("host did not stop within 15 s"),
            },
            None => Ok(()),
        }
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
