//! The durable state store on the dialogue path: a write (committed to the
//! write-ahead log, so it survives the process being killed), a read, a
//! plugin value's round trip, and opening a store that holds 100,000 open
//! dialogues (what start-up pays); then the Redis store's write and read over
//! loopback against a `redis-server` of its own (skipped, loudly, without
//! one). Figures: docs/BENCHMARKS.md.
//!
//! `cargo bench -p vox-host --bench state_store`

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use vox_host::services::state::{DialogueState, RedisStore, SqliteStore, StateKey, StateStore, ValueKey};

type Owner = Option<(&'static str, Option<&'static str>, &'static str)>;

fn resolve(plugin: &str, version: Option<&str>, step: &str) -> Owner {
    (plugin == "my_reports" && version == Some("v2") && step == "report_rename_ask_new_name").then_some((
        "my_reports",
        Some("v2"),
        "report_rename_ask_new_name",
    ))
}

fn dialogue(n: u64) -> DialogueState {
    DialogueState {
        plugin: "my_reports",
        version: Some("v2"),
        step: "report_rename_ask_new_name",
        data: serde_json::json!({"snap": 1_764_590_000_000u64 + n, "tries": 0, "number": 12}),
        deadline: Some(SystemTime::now() + Duration::from_secs(300)),
    }
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vox-bench-state-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join("state.sqlite3")
}

fn bench(c: &mut Criterion) {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let path = scratch("path");
    let store = SqliteStore::open(&path, &resolve).expect("open");
    let key = StateKey { chat: 1, user: 1 };
    let mut n = 0u64;
    c.bench_function("state/sqlite_write", |b| {
        b.iter(|| {
            n += 1;
            rt.block_on(store.set(key, dialogue(n))).expect("set");
        })
    });
    c.bench_function("state/sqlite_read", |b| {
        b.iter(|| black_box(rt.block_on(store.get(black_box(key))).expect("get")))
    });
    let value = ValueKey { plugin: "my_reports", key, name: "list".into() };
    let list = serde_json::to_string(&(1..=50).map(|i| (i, format!("Отчет номер {i}"))).collect::<Vec<_>>())
        .expect("encode");
    let later = SystemTime::now() + Duration::from_secs(600);
    c.bench_function("state/sqlite_value_write_read_50_reports", |b| {
        b.iter(|| {
            rt.block_on(store.set_value(value.clone(), list.clone(), later)).expect("set value");
            black_box(rt.block_on(store.get_value(&value, SystemTime::now())).expect("get value"))
        })
    });
    store.close();

    let big = scratch("startup");
    {
        let store = SqliteStore::open(&big, &resolve).expect("open");
        rt.block_on(async {
            let writes =
                (0..100_000i64).map(|i| store.set(StateKey { chat: i, user: i }, dialogue(i as u64)));
            for chunk in writes.collect::<Vec<_>>().chunks_mut(1000) {
                futures_util::future::try_join_all(chunk.iter_mut()).await.expect("fill");
            }
        });
        assert_eq!(store.len(), 100_000);
        store.close();
    }
    let mut group = c.benchmark_group("state");
    group.sample_size(10);
    group.bench_function("sqlite_open_100k_dialogues", |b| {
        b.iter(|| {
            let store = SqliteStore::open(&big, &resolve).expect("open");
            assert_eq!(store.len(), 100_000);
            store.close();
        })
    });
    group.finish();
    for p in [path, big] {
        if let Some(dir) = p.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    redis(c, &rt);
}

/// Loopback round trips: what each state read and write costs with Redis.
fn redis(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let Some(server) = vox_redis_server::RedisServer::start() else { return };
    let owners: vox_host::services::state::redis::Owners = std::sync::Arc::new(resolve);
    let _inside = rt.enter();
    let store = RedisStore::open(&server.url(), "bench:", owners).expect("url");
    let key = StateKey { chat: 1, user: 1 };
    let mut n = 0u64;
    c.bench_function("state/redis_write", |b| {
        b.iter(|| {
            n += 1;
            rt.block_on(store.set(key, dialogue(n))).expect("set");
        })
    });
    c.bench_function("state/redis_read", |b| {
        b.iter(|| black_box(rt.block_on(store.get(black_box(key))).expect("get")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
