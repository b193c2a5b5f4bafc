//! The release scripts against the real binary: `scripts/deploy.sh` installs
//! `vox-host` under a temporary PREFIX (pidfile mode, the fake Bot API,
//! `/healthz` on a free loopback port) and it serves; a broken binary is rolled
//! back by itself to the release before it, which serves again;
//! `scripts/rollback.sh --release` swaps back to the previous release, healthy;
//! every deploy leaves a backup with valid SHA256SUMS, `scripts/restore.sh`
//! brings a deleted report back (the bot sends it again) while keeping the
//! replaced data, and refuses a tampered backup without touching anything.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use vox_fake_bot_api::FakeBotApi;

mod common;
use common::{free_port, http_get};

const BIN: &str = env!("CARGO_BIN_EXE_vox-host");
const ALICE: i64 = 4242;
const REPORT: &str = "user_4242/voxpersona_20250101_100001.txt";
const REPORT_TEXT: &str = "Отчет №1: Итоги квартала\n\nТекст анализа.\n";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_owned()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn both(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// A process that runs (not a zombie nobody reaped yet).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next()))
        .is_some_and(|state| state != 'Z')
}

/// The temporary PREFIX and everything the scripts started in it: on drop every
/// host ever seen in the pidfile is killed (with its process group) and the
/// directory removed.
struct Site {
    dir: PathBuf,
    prefix: PathBuf,
    config: PathBuf,
    port: u16,
    env: Vec<(String, String)>,
    pids: Vec<u32>,
}

impl Site {
    fn health_url(&self) -> String {
        format!("http://127.0.0.1:{}/healthz", self.port)
    }

    fn data(&self) -> PathBuf {
        self.prefix.join("data")
    }

    /// Runs a script with the site's environment (nothing from the caller's
    /// VOX_* variables) and remembers the host it left running.
    async fn script<S: AsRef<OsStr>>(&mut self, name: &str, args: &[S]) -> Output {
        let mut cmd = Command::new(repo().join("scripts").join(name));
        cmd.args(args);
        for (key, _) in std::env::vars() {
            if key.starts_with("VOX") || key.starts_with("TELOXIDE") {
                cmd.env_remove(key);
            }
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        let out =
            tokio::task::spawn_blocking(move || cmd.output()).await.expect("join").expect("script runs");
        if let Some(pid) = self.pid()
            && !self.pids.contains(&pid)
        {
            self.pids.push(pid);
        }
        out
    }

    /// `deploy.sh`'s arguments for `binary` on this site.
    fn deploy_args(&self, binary: &str, timeout: &str, watch: &str) -> Vec<String> {
        let (prefix, config, url) =
            (self.prefix.display().to_string(), self.config.display().to_string(), self.health_url());
        [
            binary,
            "--config",
            &config,
            "--prefix",
            &prefix,
            "--health-url",
            &url,
            "--timeout",
            timeout,
            "--watch",
            watch,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// The pid in PREFIX/run/vox-host.pid.
    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.prefix.join("run/vox-host.pid")).ok()?.trim().parse().ok()
    }

    /// Where a link (`current`, `previous`) points, as `releases/NAME`.
    fn link(&self, name: &str) -> Option<String> {
        std::fs::read_link(self.prefix.join(name)).ok().map(|p| p.to_string_lossy().into_owned())
    }

    /// The command line of the host in the pidfile, while it is running (not a zombie).
    fn running_cmdline(&self) -> Option<String> {
        let pid = self.pid().filter(|&pid| alive(pid))?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        Some(text(&cmdline).replace('\0', " "))
    }

    /// Asserts /healthz answers 200 with status ok.
    fn assert_healthy(&self) {
        let (status, body) = http_get(self.port, "/healthz").expect("something answers /healthz");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"status\":\"ok\""), "{body}");
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let mut pids = self.pids.clone();
        pids.extend(self.pid());
        for pid in pids {
            // The scripts start the host with setsid: its pid is its process group.
            for target in [format!("-{pid}"), pid.to_string()] {
                let _ = Command::new("kill").args(["-KILL", "--", &target]).stderr(Stdio::null()).status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One VoxPersona report for Alice: `index.json` and its file.
fn seed_reports(data: &Path) {
    let reports = data.join("reports");
    std::fs::create_dir_all(reports.join("user_4242")).expect("reports dir");
    std::fs::write(reports.join(REPORT), REPORT_TEXT).expect("report file");
    let index = serde_json::json!([{
        "file_path": REPORT,
        "user_id": ALICE,
        "username": "alice",
        "timestamp": "2025-01-01T10:00:01",
        "question": "Итоги квартала",
        "size_bytes": REPORT_TEXT.len(),
        "tokens": 1200,
        "search_type": "fast",
        "report_number": 1,
    }]);
    std::fs::write(reports.join("index.json"), serde_json::to_string_pretty(&index).expect("json"))
        .expect("index.json");
}

/// A fresh PREFIX under the temp dir, `name` telling the tests apart; the host
/// it will run talks to `api`.
fn site(name: &str, api: &FakeBotApi) -> Site {
    let dir = std::env::temp_dir().join(format!("vox-release-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let prefix = dir.join("opt");
    let config = dir.join("vox-host.toml");
    std::fs::create_dir_all(&prefix).expect("prefix");
    std::fs::write(&config, "# release test\n[plugins.my_reports]\nversion = \"v1\"\n").expect("config");
    let port = free_port();
    let env = vec![
        ("VOX__TELEGRAM__TOKEN".to_owned(), api.token().to_owned()),
        ("VOX__TELEGRAM__API_URL".to_owned(), api.url()),
        ("VOX__TELEGRAM__POLL_TIMEOUT_SECS".to_owned(), "1".to_owned()),
        ("VOX__OPS__LISTEN".to_owned(), format!("127.0.0.1:{port}")),
        ("VOX_STOP_TIMEOUT".to_owned(), "10".to_owned()),
    ];
    let site = Site { dir, prefix, config, port, env, pids: Vec::new() };
    // No data_dir in the config: the host's default `data`, inside PREFIX.
    seed_reports(&site.data());
    site
}

/// The evidence file a rollback printed.
fn evidence_of(out: &Output) -> PathBuf {
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("evidence of the rollback: ").map(|(_, p)| p.to_owned()))
        .unwrap_or_else(|| panic!("no evidence path printed:\n{}", both(out)));
    PathBuf::from(line)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_rolls_back_a_broken_release_and_restore_brings_data_back() {
    let api = FakeBotApi::start().await.expect("fake api");
    let mut site = site("deploy", &api);
    let prefix = site.prefix.to_str().expect("utf-8 path").to_owned();
    let url = site.health_url();
    let started = Instant::now();

    // (a) The first deploy: nothing to roll back to, healthy, serving Telegram.
    let args = site.deploy_args(BIN, "20", "0");
    let out = site.script("deploy.sh", &args).await;
    assert!(out.status.success(), "{}", both(&out));
    let first = site.link("current").expect("current after the first deploy");
    assert!(first.starts_with("releases/"), "{first}");
    assert!(site.prefix.join(&first).join("vox-host").is_file());
    assert!(text(&out.stdout).contains(&format!("OK: {first} is current and healthy")), "{}", both(&out));
    assert_eq!(site.link("previous"), None);
    site.assert_healthy();
    let mut alice = api.user(ALICE, "Алиса");
    alice.send_text("/help");
    alice.expect_text("Что умеет бот").await;

    // A second good deploy: beside the first, which becomes `previous`.
    let out = site.script("deploy.sh", &args).await;
    assert!(out.status.success(), "{}", both(&out));
    let second = site.link("current").expect("current");
    assert_ne!(second, first);
    assert_eq!(site.link("previous").as_deref(), Some(first.as_str()));
    assert!(site.prefix.join(&first).join("vox-host").is_file(), "the first release is kept");
    site.assert_healthy();

    // (b) A broken build (never answers /healthz) is rolled back by itself.
    let broken = site.dir.join("broken/vox-host");
    std::fs::create_dir_all(broken.parent().expect("parent")).expect("dir");
    let broken_pid = site.dir.join("broken/pid");
    // Its config check passes (the real binary's), but its `run` leaves its pid
    // behind and turns into `sleep`: no "vox-host" in its command line.
    let script = format!(
        "#!/bin/sh\ncase \" $* \" in *' run '*) ;; *) exec '{BIN}' \"$@\" ;; esac\n\
         echo 'broken build: no health endpoint'\necho $$ > '{}'\nexec sleep 60\n",
        broken_pid.display()
    );
    std::fs::write(&broken, script).expect("script");
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let broken = broken.to_str().expect("utf-8 path").to_owned();
    let t = Instant::now();
    let out = site.script("deploy.sh", &site.deploy_args(&broken, "3", "0")).await;
    eprintln!("broken deploy, rolled back in {:.1?}:\n{}", t.elapsed(), text(&out.stdout));
    let broken_pid: u32 =
        std::fs::read_to_string(&broken_pid).expect("the broken build ran").trim().parse().expect("a pid");
    site.pids.push(broken_pid);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(!alive(broken_pid), "the broken build was stopped\n{}", both(&out));
    let expected = format!("deploy FAILED: {broken} not healthy within 3s; rolled back to {second}");
    assert!(text(&out.stdout).contains(&expected), "want {expected:?} in\n{}", both(&out));
    let evidence = std::fs::read_to_string(evidence_of(&out)).expect("evidence of the failed deploy");
    assert!(evidence.contains("broken build: no health endpoint"), "the broken build's log: {evidence}");
    assert_eq!(site.link("current").as_deref(), Some(second.as_str()));
    assert_eq!(site.link("previous").as_deref(), Some(first.as_str()), "previous is as before the deploy");
    let cmdline = site.running_cmdline().expect("a host runs after the rollback");
    assert!(cmdline.contains(&format!("{second}/vox-host")), "{cmdline}");
    site.assert_healthy();
    alice.send_text("/help");
    alice.expect_text("Что умеет бот").await;

    // (c) Release rollback: back to the first release, healthy.
    let out = site
        .script("rollback.sh", &["--release", "--prefix", &prefix, "--health-url", &url, "--timeout", "20"])
        .await;
    assert!(out.status.success(), "{}", both(&out));
    assert!(text(&out.stdout).contains(&format!("OK: {first} is serving")), "{}", both(&out));
    eprintln!("rollback.sh --release: {}", text(&out.stdout).lines().last().unwrap_or_default());
    assert_eq!(site.link("current").as_deref(), Some(first.as_str()));
    assert_eq!(site.link("previous").as_deref(), Some(second.as_str()));
    let cmdline = site.running_cmdline().expect("a host runs after the rollback");
    assert!(cmdline.contains(&format!("{first}/vox-host")), "{cmdline}");
    site.assert_healthy();
    let evidence = evidence_of(&out);
    assert!(evidence.starts_with(site.prefix.join("backups")), "beside the backups: {}", evidence.display());
    let kept = std::fs::read_to_string(&evidence).expect("evidence");
    assert!(kept.contains("## log") && kept.contains("vox_config_generation"), "{kept}");

    // (d) Every deploy left a backup; the first holds the report, checksums valid.
    let mut backups: Vec<PathBuf> = std::fs::read_dir(site.prefix.join("backups"))
        .expect("backups dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    backups.sort();
    assert_eq!(backups.len(), 3, "{backups:?}");
    let backup = backups[0].clone();
    for file in ["SHA256SUMS", "data.tar.gz", "config.toml", "backup.info"] {
        assert!(backup.join(file).is_file(), "{} has no {file}", backup.display());
    }
    let check = Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(&backup)
        .output()
        .expect("sha256sum");
    assert!(check.status.success(), "{}", both(&check));

    // The report file is lost; restore brings it back and the bot sends it.
    let report = site.data().join("reports").join(REPORT);
    std::fs::remove_file(&report).expect("delete the report");
    let backup_arg = backup.to_str().expect("utf-8 path").to_owned();
    let out = site
        .script("restore.sh", &[&backup_arg, "--prefix", &prefix, "--health-url", &url, "--timeout", "20"])
        .await;
    assert!(out.status.success(), "{}", both(&out));
    assert_eq!(std::fs::read_to_string(&report).expect("restored report"), REPORT_TEXT);
    let aside: Vec<PathBuf> = std::fs::read_dir(&site.prefix)
        .expect("prefix")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("data.before-restore-")))
        .collect();
    assert_eq!(aside.len(), 1, "the replaced data is kept: {aside:?}");
    assert!(aside[0].join("reports/index.json").is_file(), "the moved-aside data is whole");
    assert!(!aside[0].join("reports").join(REPORT).exists(), "and is what was there (without the report)");
    site.assert_healthy();
    alice.send_text("/reports");
    alice.expect_text("последние отчеты").await;
    alice.press("Итоги квартала");
    let doc = alice.expect_document().await;
    assert_eq!(text(&doc.bytes), REPORT_TEXT);

    // A backup whose archive was tampered with is refused; nothing is touched.
    let tampered = site.dir.join("tampered");
    assert!(Command::new("cp").arg("-r").arg(&backup).arg(&tampered).status().expect("cp").success());
    let mut archive = std::fs::read(tampered.join("data.tar.gz")).expect("archive");
    let middle = archive.len() / 2;
    archive[middle] ^= 0xff;
    std::fs::write(tampered.join("data.tar.gz"), archive).expect("tamper");
    let pid = site.pid();
    let tampered_arg = tampered.to_str().expect("utf-8 path").to_owned();
    let out = site.script("restore.sh", &[&tampered_arg, "--prefix", &prefix, "--health-url", &url]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(text(&out.stderr).contains("does not match its SHA256SUMS"), "{}", both(&out));
    assert_eq!(site.pid(), pid, "the host was not restarted");
    assert!(site.running_cmdline().is_some(), "and still runs");
    let aside_count = std::fs::read_dir(&site.prefix)
        .expect("prefix")
        .filter(|e| {
            e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().starts_with("data.before-restore-"))
        })
        .count();
    assert_eq!(aside_count, 1, "no data was moved");
    assert_eq!(std::fs::read_to_string(&report).expect("report"), REPORT_TEXT);
    site.assert_healthy();

    eprintln!("deploy → broken deploy → rollback → restore: {:.1?}", started.elapsed());
}

#[tokio::test]
async fn deploy_refuses_a_missing_binary_or_config_and_touches_nothing() {
    let api = FakeBotApi::start().await.expect("fake api");
    let mut site = site("refuse", &api);
    let prefix = site.prefix.to_str().expect("utf-8 path").to_owned();
    let cfg = site.config.to_str().expect("utf-8 path").to_owned();
    let missing = site.dir.join("no-such-binary");
    let missing = missing.to_str().expect("utf-8 path").to_owned();

    let out = site.script("deploy.sh", &[&missing, "--config", &cfg, "--prefix", &prefix]).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(text(&out.stderr).contains("does not exist"), "{}", both(&out));

    let out = site.script("deploy.sh", &[&cfg, "--config", &cfg, "--prefix", &prefix]).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(text(&out.stderr).contains("not an executable file"), "{}", both(&out));

    let no_config = format!("{cfg}.missing");
    let out = site.script("deploy.sh", &[BIN, "--config", &no_config, "--prefix", &prefix]).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(text(&out.stderr).contains("not found"), "{}", both(&out));

    let out = site.script("rollback.sh", &["--release", "--prefix", &prefix]).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(text(&out.stderr).contains("nothing to roll back"), "{}", both(&out));

    let entries: Vec<_> =
        std::fs::read_dir(&site.prefix).expect("prefix").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(entries, vec![std::ffi::OsString::from("data")], "only the seeded data is there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_window_rolls_back_a_release_that_starts_failing_and_a_refused_config_costs_nothing() {
    let api = FakeBotApi::start().await.expect("fake api");
    let mut site = site("watch", &api);
    site.env.extend([
        ("VOX_WATCH_EVERY".to_owned(), "0.5".to_owned()),
        ("VOX_WATCH_MIN_UPDATES".to_owned(), "3".to_owned()),
    ]);
    let prefix = site.prefix.to_str().expect("utf-8 path").to_owned();
    let url = site.health_url();
    // The release serving now: healthy through a short watch.
    let out = site.script("deploy.sh", &site.deploy_args(BIN, "20", "2")).await;
    assert!(out.status.success(), "{}", both(&out));
    assert!(text(&out.stdout).contains("watch: no trigger fired in 2s"), "{}", both(&out));
    let good = site.link("current").expect("current");
    let pid = site.pid();
    // The container's HEALTHCHECK: the binary asks /healthz itself.
    let check = Command::new(BIN)
        .arg("healthcheck")
        .env("VOX__OPS__LISTEN", format!("0.0.0.0:{}", site.port))
        .output()
        .expect("healthcheck runs");
    assert!(check.status.success(), "{}", both(&check));
    assert!(text(&check.stdout).starts_with("healthy: {"), "{}", both(&check));

    // A config the new binary refuses: nothing stops, nothing is installed.
    let refused = site.dir.join("refused.toml");
    std::fs::write(&refused, "[plugins.my_reports]\nversion = \"v9\"\n").expect("config");
    let refused_arg = refused.to_str().expect("utf-8 path").to_owned();
    let out = site
        .script("deploy.sh", &[BIN, "--config", &refused_arg, "--prefix", &prefix, "--health-url", &url])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(text(&out.stderr).contains("the new release refuses"), "{}", both(&out));
    assert!(text(&out.stderr).contains("plugins.my_reports.version"), "names the key: {}", both(&out));
    assert_eq!(site.pid(), pid, "the running host was not touched");
    assert_eq!(std::fs::read_dir(site.prefix.join("releases")).expect("releases").count(), 1);
    site.assert_healthy();

    // A release that works at first and starts failing a little later (the
    // plan's "at minute 2", shortened): its reports directory breaks 2 s after start.
    let canary_reports = site.dir.join("canary-reports");
    assert!(
        Command::new("cp")
            .arg("-r")
            .arg(site.data().join("reports"))
            .arg(&canary_reports)
            .status()
            .expect("cp")
            .success()
    );
    let failing = site.dir.join("failing/vox-host");
    std::fs::create_dir_all(failing.parent().expect("parent")).expect("dir");
    let index = canary_reports.join("index.json");
    let script = format!(
        "#!/bin/sh\nexport VOX__PLUGINS__MY_REPORTS__REPORTS_DIR='{}'\n\
         case \" $* \" in *' run '*) (sleep 2; echo 'not json' > '{}') & ;; esac\nexec '{BIN}' \"$@\"\n",
        canary_reports.display(),
        index.display()
    );
    std::fs::write(&failing, script).expect("script");
    std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let failing_arg = failing.to_str().expect("utf-8 path").to_owned();
    // Alice keeps opening her reports while the release is watched.
    let mut alice = api.user(ALICE, "Алиса");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let opener = tokio::spawn({
        let stop = std::sync::Arc::clone(&stop);
        async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                alice.send_text("/reports");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    });
    let t = Instant::now();
    let out = site.script("deploy.sh", &site.deploy_args(&failing_arg, "20", "60")).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = opener.await;
    eprintln!("failing release rolled back by the watch in {:.1?}:\n{}", t.elapsed(), text(&out.stdout));
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(text(&out.stdout).contains("tripped a red trigger in the watch window"), "{}", both(&out));
    assert!(t.elapsed() < std::time::Duration::from_secs(50), "rolled back within the window, not after it");
    assert_eq!(site.link("current").as_deref(), Some(good.as_str()), "the good release serves again");
    site.assert_healthy();
    let evidence = std::fs::read_to_string(evidence_of(&out)).expect("evidence");
    assert!(evidence.contains("vox_plugin_failures_total"), "the failing release's metrics: {evidence}");
    // The backup of that deploy holds the reports directory it used, outside the data dir.
    let backups: Vec<PathBuf> = std::fs::read_dir(site.prefix.join("backups"))
        .expect("backups")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    let extras: Vec<String> =
        backups.iter().filter_map(|b| std::fs::read_to_string(b.join("extras")).ok()).collect();
    assert!(
        extras.iter().any(|e| e.contains(&format!("plugin:my_reports\t{}", canary_reports.display()))),
        "{extras:?}"
    );
}

#[tokio::test]
async fn rollback_takes_its_options_in_any_order_and_old_releases_are_pruned() {
    let api = FakeBotApi::start().await.expect("fake api");
    let mut site = site("options", &api);
    site.env.push(("VOX_HOST_BIN".to_owned(), BIN.to_owned()));
    let canary = "[plugins.my_reports]\nversion = \"v1\"\n[plugins.my_reports.rollout]\nstable = \"v1\"\ncandidate = \"v2\"\npercent = 5\n";
    for (name, order) in [("timeout-first", true), ("config-first", false)] {
        let file = site.dir.join(format!("{name}.toml"));
        std::fs::write(&file, canary).expect("config");
        let path = file.to_str().expect("utf-8 path").to_owned();
        let args: Vec<&str> = if order {
            vec!["--timeout", "0", "--config", &path]
        } else {
            vec!["--config", &path, "--timeout", "0"]
        };
        let out = site.script("rollback.sh", &args).await;
        let after = std::fs::read_to_string(&file).expect("config");
        assert!(after.contains("kill = true"), "{name}: --config was honoured\n{after}\n{}", both(&out));
    }
    let out = site.script("rollback.sh", &["--prefix", "/tmp/x"]).await;
    assert_eq!(out.status.code(), Some(2), "--prefix without --release is refused: {}", both(&out));

    // Pruning: releases and backups beyond --keep go, current and previous stay.
    let prefix = site.prefix.to_str().expect("utf-8 path").to_owned();
    let cfg = site.config.to_str().expect("utf-8 path").to_owned();
    let url = site.health_url();
    for _ in 0..4 {
        let out = site
            .script(
                "deploy.sh",
                &[
                    BIN,
                    "--config",
                    &cfg,
                    "--prefix",
                    &prefix,
                    "--health-url",
                    &url,
                    "--watch",
                    "0",
                    "--keep",
                    "2",
                ],
            )
            .await;
        assert!(out.status.success(), "{}", both(&out));
    }
    let count = |dir: &str| {
        std::fs::read_dir(site.prefix.join(dir))
            .expect("dir")
            .filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir()))
            .count()
    };
    assert_eq!((count("releases"), count("backups")), (2, 2));
    for link in ["current", "previous"] {
        let target = site.link(link).expect("link");
        assert!(site.prefix.join(&target).join("vox-host").is_file(), "{link} -> {target} was kept");
    }
}
