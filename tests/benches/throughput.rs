//! Updates per second, end to end against the local fake Bot API: a bare
//! teloxide 0.17 bot (one `sendMessage` per message) beside vox-host serving the
//! same echo through a plugin (routing, state, rollout, tracker, metrics, the
//! per-update JSON log line). The bar: the host within 10% of the bare bot.
//!
//! `cargo bench -p vox-testkit --bench throughput`

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use teloxide::prelude::*;
use vox_testkit::{FakeBotApi, TestHost, TgUser};

use vox_main_menu as _;
use vox_my_reports as _;

/// Updates per measured batch, spread over `USERS` private chats.
const BATCH: usize = 2_000;
const USERS: i64 = 50;

// The echo plugin the bench bots serve, so all benches measure the same plugin.
use vox_bench_bots as _;

/// Pushes a batch of `/echo` messages and waits until the bot answered each.
async fn batch(api: &FakeBotApi, users: &[TgUser], mut cursor: usize) -> (Duration, usize) {
    let started = Instant::now();
    for i in 0..BATCH {
        let user = &users[i % users.len()];
        api.push_text(user.id, user, "/echo");
    }
    let mut answered = 0;
    while answered < BATCH {
        let (calls, next) = api.calls_since(cursor);
        cursor = next;
        answered += calls.iter().filter(|c| c.method == "sendMessage").count();
        if answered < BATCH {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    assert!(started.elapsed() < Duration::from_secs(60), "the bot fell behind");
    (started.elapsed(), cursor)
}

fn users() -> Vec<TgUser> {
    (1..=USERS).map(|id| TgUser::new(1_000 + id, "Bench")).collect()
}

fn bare_teloxide(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let api = rt.block_on(FakeBotApi::start()).expect("fake api");
    let bot = Bot::new(api.token()).set_api_url(api.url().parse().expect("url"));
    let handler = Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
        bot.send_message(msg.chat.id, "echo").await?;
        Ok::<(), teloxide::RequestError>(())
    });
    let mut dispatcher = Dispatcher::builder(bot, handler).build();
    let stop = dispatcher.shutdown_token();
    let running = rt.spawn(async move { dispatcher.dispatch().await });
    let users = users();
    let mut cursor = api.call_count();
    let mut group = c.benchmark_group("throughput");
    group.throughput(Throughput::Elements(BATCH as u64)).sample_size(10);
    group.bench_function("bare_teloxide_echo", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (took, next) = rt.block_on(batch(&api, &users, cursor));
                cursor = next;
                total += took;
            }
            total
        })
    });
    group.finish();
    // A dispatcher still starting refuses a shutdown ("idle"): wait for it, but
    // never hang the bench on a lost notification.
    rt.block_on(async {
        let stopped = async {
            loop {
                match stop.shutdown() {
                    Ok(stopping) => break stopping.await,
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), stopped).await;
    });
    running.abort();
}

fn vox_host(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let host = rt.block_on(TestHost::builder().config("[plugins.echo]\n").start());
    let users = users();
    let mut cursor = host.api().call_count();
    let mut group = c.benchmark_group("throughput");
    group.throughput(Throughput::Elements(BATCH as u64)).sample_size(10);
    group.bench_function("vox_host_echo_plugin", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (took, next) = rt.block_on(batch(host.api(), &users, cursor));
                cursor = next;
                total += took;
            }
            total
        })
    });
    group.finish();
    // Both bots must make the same calls per update, or the comparison is unfair.
    let mut methods = std::collections::BTreeMap::<String, usize>::new();
    for call in host.api().calls() {
        *methods.entry(call.method).or_default() += 1;
    }
    eprintln!("vox-host Bot API calls during the bench: {methods:?}");
    let _ = rt.block_on(host.stop());
}

fn throughput(c: &mut Criterion) {
    // Production logging: the host's JSON line per update at `info`, written to a
    // sink so the disk is not what is measured. The bare bot logs nothing per update.
    let _ = tracing::subscriber::set_global_default(vox_host::ops::logging::json_subscriber(
        "info",
        std::io::sink,
    ));
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    bare_teloxide(c, &rt);
    vox_host(c, &rt);
}

criterion_group!(benches, throughput);
criterion_main!(benches);
