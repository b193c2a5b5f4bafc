//! The fault soak: `vox-host run` (a child process), my-reports at v2, many simulated users doing
//! whole flows (list, view, rename, delete, each confirmed) while the fake Bot
//! API answers a share of the host's calls with 429 (`retry_after`), slowly,
//! or drops the connection. Checked: every action got its answer, no document
//! went out twice or not at all, every callback was answered exactly once, no
//! handler panicked; the host's RSS at start and end is printed.
//!
//! CI runs a small soak. The full one (figures in docs/RELIABILITY.md):
//! `VOX_SOAK_UPDATES=100000 VOX_SOAK_USERS=1000 cargo test --release -p vox-bot --test soak -- --nocapture`

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use std::path::{Path, PathBuf};
use std::process::Child;

use vox_fake_bot_api::{Chaos, FakeBotApi, Fault};

mod common;
use common::{free_port, http_get};
#[path = "common/child.rs"]
mod child;
#[path = "common/flows.rs"]
mod flows;
use flows::Counts;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A line of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

struct Host(Child);

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `vox-host run` on `api` with my-reports at v2 over `reports`; returns once it polls.
async fn start_host(dir: &Path, reports: &Path, api: &FakeBotApi, ops_port: u16) -> Host {
    let config = dir.join("vox.toml");
    std::fs::write(
        &config,
        format!("[plugins.my_reports]\nversion = \"v2\"\nreports_dir = \"{}\"\n", reports.display()),
    )
    .expect("config");
    let log = std::fs::File::create(dir.join("host.log")).expect("log");
    let child = child::vox_host(&config, api, &dir.join("data"), ops_port, log)
        .env("VOX__TELEGRAM__POLL_TIMEOUT_SECS", "1")
        .env("VOX__LOG__LEVEL", "warn")
        .spawn()
        .expect("host starts");
    let host = Host(child);
    let ready = api.wait_call(0, |c| c.method == "getMe", Duration::from_secs(20)).await;
    assert!(ready.is_some(), "the host never called getMe");
    host
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soak_under_telegram_faults_loses_and_duplicates_nothing() {
    let budget = env("VOX_SOAK_UPDATES", 3000);
    let users = env("VOX_SOAK_USERS", 60) as i64;
    let per_mille = env("VOX_SOAK_FAULT_PER_MILLE", 50) as u32;
    let base = 900_000i64;
    let dir: PathBuf = std::env::temp_dir().join(format!("vox-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    flows::seed(&dir.join("reports"), (1..=users).map(|u| base + u));
    let api = FakeBotApi::start().await.expect("fake API");
    let ops_port = free_port();
    let host = start_host(&dir, &dir.join("reports"), &api, ops_port).await;
    let pid = host.0.id();
    let rss_start = status_kib(pid, "VmRSS:");
    api.set_chaos(Some(Chaos {
        per_mille,
        faults: vec![Fault::RetryAfter(1), Fault::Delay(Duration::from_millis(300)), Fault::Drop],
        methods: ["sendMessage", "sendDocument", "editMessageText", "deleteMessages", "answerCallbackQuery"]
            .map(str::to_owned)
            .to_vec(),
        seed: env("VOX_SOAK_SEED", 12),
    }));
    let counts = Arc::new(Counts::default());
    let started = Instant::now();
    // The host's RSS every 10% of the updates: a plateau once warm, or a climb.
    let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sampler = {
        let (counts, samples) = (Arc::clone(&counts), Arc::clone(&samples));
        tokio::spawn(async move {
            let mut next = 0;
            while next <= 10 {
                if counts.updates.load(Ordering::Relaxed) * 10 >= budget * next {
                    samples.lock().unwrap_or_else(|p| p.into_inner()).push(status_kib(pid, "VmRSS:") / 1024);
                    next += 1;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let tasks: Vec<_> = (1..=users)
        .map(|u| {
            let user = api.user(base + u, "Гость").with_wait(Duration::from_secs(90));
            let counts = Arc::clone(&counts);
            tokio::spawn(async move {
                flows::user_flows(user, base + u, &counts, None, |c| {
                    c.updates.load(Ordering::Relaxed) < budget
                })
                .await;
            })
        })
        .collect();
    let mut lost = 0;
    for task in tasks {
        if let Err(e) = task.await {
            lost += 1;
            eprintln!("a user's action got no answer: {e}");
        }
    }
    let took = started.elapsed();
    let (rss_end, rss_peak) = (status_kib(pid, "VmRSS:"), status_kib(pid, "VmHWM:"));
    sampler.abort();
    let samples = samples.lock().unwrap_or_else(|p| p.into_inner()).clone();

    let calls = api.calls();
    let mut documents_per_chat: BTreeMap<i64, u64> = BTreeMap::new();
    let mut answers: BTreeMap<String, u32> = BTreeMap::new();
    for c in calls.iter().filter(|c| c.status == 200) {
        match c.method.as_str() {
            "sendDocument" => {
                let chat =
                    c.params.get("chat_id").and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
                *documents_per_chat.entry(chat.unwrap_or(0)).or_default() += 1;
            }
            "answerCallbackQuery" => {
                let id = c.params.get("callback_query_id").and_then(|v| v.as_str()).unwrap_or("").to_owned();
                *answers.entry(id).or_default() += 1;
            }
            _ => {}
        }
    }
    let sent_documents: u64 = documents_per_chat.values().sum();
    let pressed = answers.len() as u64;
    let twice = answers.values().filter(|&&n| n != 1).count();
    let metrics = http_get(ops_port, "/metrics").map(|(_, b)| b).unwrap_or_default();
    let panics: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("vox_handler_errors_total") && l.contains("kind=\"panic\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum();
    println!(
        "soak: {} updates from {users} users in {took:.1?} ({} flows), {} faults dealt; lost replies {lost}; \
         documents expected {} sent {sent_documents}; callbacks answered {pressed}, not exactly once {twice}; \
         panics {panics}; host RSS {} MiB at start, {} MiB at end, peak {} MiB; RSS (MiB) at each 10%: {samples:?}",
        counts.updates.load(Ordering::Relaxed),
        counts.flows.load(Ordering::Relaxed),
        api.chaos_dealt(),
        counts.documents.load(Ordering::Relaxed),
        rss_start / 1024,
        rss_end / 1024,
        rss_peak / 1024,
    );
    assert_eq!(lost, 0, "every action got its answer");
    assert_eq!(sent_documents, counts.documents.load(Ordering::Relaxed), "no document twice, none missing");
    assert_eq!(twice, 0, "every callback answered exactly once");
    assert_eq!(panics, 0, "no handler panicked");
    assert!(api.chaos_dealt() > 0, "faults were dealt");
    assert!(metrics.contains("vox_updates_total"), "the host's metrics were read");
    let refused = calls.iter().filter(|c| c.method == "answerCallbackQuery" && c.status == 400).count();
    assert_eq!(refused, 0, "no callback query answered twice");
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
}
