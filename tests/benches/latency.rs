//! Latency per update at a steady 1,000 updates/s, in-process against the
//! test kit's fake Bot API, two ways:
//!
//! - the host's share: from the update's arrival in the host to its first Bot
//!   API call, as the host's own histogram `vox_update_first_call_seconds`
//!   counts it (scraped before and after the measured updates; quantiles
//!   interpolated inside its buckets, which are fine below 1 ms);
//! - end to end: from the moment an update is queued in the fake to the moment
//!   the bot's `sendMessage` for it arrives there — the fake answering the
//!   long poll, HTTP both ways and teloxide's parsing included — for the bare
//!   teloxide bot and the host alike, in the same run.
//!
//! The host runs with everything on: the JSON log line at `info` (to a sink),
//! metrics, tracker, rollout, the default durable state store.
//!
//! `cargo bench -p vox-testkit --bench latency` (rounds alternate bare, host;
//! LATENCY_UPDATES per round, default 10,000, after 1,000 to warm up).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use teloxide::prelude::*;
use vox_testkit::{FakeBotApi, TestHost, TgUser};

use vox_main_menu as _;
use vox_my_reports as _;

// The echo plugin the bench bots serve, so all benches measure the same plugin.
use vox_bench_bots as _;

/// Private chats the updates come from, round-robin (each chat has one
/// update in flight at a time: 100 ms apart at this rate).
const USERS: i64 = 100;
const RATE_PER_SEC: u64 = 1_000;
const WARMUP: usize = 1_000;
const ROUNDS: usize = 3;

/// Queues `n` `/echo` at the steady rate; returns each one's chat and queue time.
async fn paced(api: &FakeBotApi, users: &[TgUser], n: usize) -> Vec<(i64, Instant)> {
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE_PER_SEC));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut pushed = Vec::with_capacity(n);
    for i in 0..n {
        tick.tick().await;
        let user = &users[i % users.len()];
        api.push_text(user.id, user, "/echo");
        pushed.push((user.id, Instant::now()));
    }
    pushed
}

/// Drives `n` updates through the bot behind `api` and returns their latencies, sorted.
async fn latencies(api: &FakeBotApi, users: &[TgUser], n: usize) -> Vec<Duration> {
    let cursor = api.call_count();
    let pushed = paced(api, users, n).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut answers: HashMap<i64, Vec<Instant>> = HashMap::new();
    let mut cursor_now = cursor;
    let mut got = 0;
    while got < n {
        assert!(Instant::now() < deadline, "the bot answered {got} of {n}");
        let (calls, next) = api.calls_since(cursor_now);
        cursor_now = next;
        for call in calls.into_iter().filter(|c| c.method == "sendMessage") {
            if let Some(chat) = call.chat_id() {
                answers.entry(chat).or_default().push(call.at);
                got += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // One update per chat in flight: a chat's answers come in the order of its updates.
    let mut next: HashMap<i64, usize> = HashMap::new();
    let mut out: Vec<Duration> = pushed
        .iter()
        .map(|(chat, at)| {
            let i = next.entry(*chat).or_default();
            let answered = answers[chat][*i];
            *i += 1;
            answered.saturating_duration_since(*at)
        })
        .collect();
    out.sort();
    out
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

struct Round {
    p50: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
}

/// `vox_update_first_call_seconds` from a scrape: (upper bound, cumulative count) per bucket.
fn first_call_buckets(page: &str) -> Vec<(f64, u64)> {
    page.lines()
        .filter_map(|line| line.strip_prefix("vox_update_first_call_seconds_bucket{le=\""))
        .filter_map(|rest| {
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
            Some((le, count.trim().parse().ok()?))
        })
        .collect()
}

/// The `q` quantile of the observations between two scrapes, interpolated
/// linearly inside its bucket, in microseconds.
fn bucket_quantile(before: &[(f64, u64)], after: &[(f64, u64)], q: f64) -> f64 {
    let counts: Vec<(f64, u64)> =
        after.iter().zip(before).map(|(&(le, a), &(_, b))| (le, a.saturating_sub(b))).collect();
    let total = counts.last().map_or(0, |&(_, c)| c) as f64;
    let want = total * q;
    let mut lower = (0.0, 0.0);
    for &(le, c) in &counts {
        if c as f64 >= want {
            let (lo, below) = lower;
            let share = if c as f64 > below { (want - below) / (c as f64 - below) } else { 0.0 };
            let hi = if le.is_finite() { le } else { lo };
            return (lo + (hi - lo) * share) * 1e6;
        }
        lower = (le, c as f64);
    }
    f64::NAN
}

fn summarize(sorted: &[Duration]) -> Round {
    Round {
        p50: quantile(sorted, 0.50),
        p90: quantile(sorted, 0.90),
        p99: quantile(sorted, 0.99),
        max: sorted.last().copied().unwrap_or_default(),
    }
}

async fn bare_round(users: &[TgUser], n: usize) -> Round {
    let api = FakeBotApi::start().await.expect("fake api");
    let bot = Bot::new(api.token()).set_api_url(api.url().parse().expect("url"));
    let handler = Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
        bot.send_message(msg.chat.id, "echo").await?;
        Ok::<(), teloxide::RequestError>(())
    });
    let mut dispatcher = Dispatcher::builder(bot, handler).build();
    let running = tokio::spawn(async move { dispatcher.dispatch().await });
    latencies(&api, users, WARMUP).await;
    let round = summarize(&latencies(&api, users, n).await);
    running.abort();
    round
}

/// The end-to-end round, and the host's own share at p50 and p99 (µs).
async fn host_round(users: &[TgUser], n: usize) -> (Round, f64, f64) {
    let host = TestHost::builder().config("[plugins.echo]\n").start().await;
    latencies(host.api(), users, WARMUP).await;
    let before = first_call_buckets(&host.scrape().await);
    let round = summarize(&latencies(host.api(), users, n).await);
    let after = first_call_buckets(&host.scrape().await);
    assert!(!after.is_empty(), "vox_update_first_call_seconds is on /metrics");
    let _ = host.stop().await;
    (round, bucket_quantile(&before, &after, 0.50), bucket_quantile(&before, &after, 0.99))
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let n: usize = std::env::var("LATENCY_UPDATES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let _ = tracing::subscriber::set_global_default(vox_host::ops::logging::json_subscriber(
        "info",
        std::io::sink,
    ));
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let users: Vec<TgUser> = (1..=USERS).map(|id| TgUser::new(1_000 + id, "Bench")).collect();
    println!("{n} updates per round at {RATE_PER_SEC}/s from {USERS} chats, {ROUNDS} rounds; microseconds");
    println!("{:<6} {:>5} {:>8} {:>8} {:>8} {:>9}", "bot", "round", "p50", "p90", "p99", "max");
    let mut rounds: Vec<(Round, Round)> = Vec::new();
    let mut shares: Vec<(f64, f64)> = Vec::new();
    for r in 1..=ROUNDS {
        // Alternate which bot meets the machine first.
        let (bare, (host, p50, p99)) = if r % 2 == 1 {
            let bare = rt.block_on(bare_round(&users, n));
            (bare, rt.block_on(host_round(&users, n)))
        } else {
            let host = rt.block_on(host_round(&users, n));
            (rt.block_on(bare_round(&users, n)), host)
        };
        shares.push((p50, p99));
        for (name, x) in [("bare", &bare), ("host", &host)] {
            println!(
                "{name:<6} {r:>5} {:>8.0} {:>8.0} {:>8.0} {:>9.0}",
                us(x.p50),
                us(x.p90),
                us(x.p99),
                us(x.max)
            );
        }
        rounds.push((bare, host));
    }
    let median = |f: &dyn Fn(&(Round, Round)) -> f64| {
        let mut v: Vec<f64> = rounds.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "end to end, host - bare (median of the rounds): p50 {:+.0} µs, p99 {:+.0} µs",
        median(&|(b, h)| us(h.p50) - us(b.p50)),
        median(&|(b, h)| us(h.p99) - us(b.p99))
    );
    for (r, (p50, p99)) in shares.iter().enumerate() {
        println!("host's share, round {}: p50 {p50:.1} µs, p99 {p99:.1} µs", r + 1);
    }
    let mut p50s: Vec<f64> = shares.iter().map(|s| s.0).collect();
    let mut p99s: Vec<f64> = shares.iter().map(|s| s.1).collect();
    p50s.sort_by(f64::total_cmp);
    p99s.sort_by(f64::total_cmp);
    println!(
        "host's share, arrival to first Bot API call (median of the rounds): p50 {:.1} µs, p99 {:.1} µs \
         (targets 50 and 500)",
        p50s[p50s.len() / 2],
        p99s[p99s.len() / 2]
    );
}
