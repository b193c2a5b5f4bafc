//! Storage benchmarks on a big legacy index: 100,000 entries, of which user 42 owns 1,000.
//! Targets: list < 20 ms; rename and delete < 50 ms including fsync.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::json;
use vox_report_store::{NewReport, Renamed, Storage};

const ENTRIES: usize = 100_000;
const USER: i64 = 42;
const USER_REPORTS: usize = 1_000;
const OTHER_USERS: usize = 5_000;

/// A reports directory removed at the end of the run.
struct BenchDir(PathBuf);

impl Drop for BenchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Writes the index the way the old bot does (`indent=2`, non-ASCII as is) and user 42's files.
fn generate(dir: &Path) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir.join(format!("user_{USER}"))).expect("create bench dir");
    let every = ENTRIES / USER_REPORTS;
    let mut per_user = vec![0u32; OTHER_USERS];
    let entries: Vec<serde_json::Value> = (0..ENTRIES)
        .map(|i| {
            let (user, number) = if i % every == 0 {
                (USER, (i / every + 1) as u32)
            } else {
                let slot = i % OTHER_USERS;
                per_user[slot] += 1;
                (1_000 + slot as i64, per_user[slot])
            };
            let (day, second) = (1 + i % 28, i % 86_400);
            let stamp =
                format!("2025-01-{day:02}T{:02}:{:02}:{:02}", second / 3600, second / 60 % 60, second % 60);
            json!({
                "file_path": format!("user_{user}/voxpersona_{number:06}.txt"),
                "user_id": user,
                "username": format!("пользователь_{user}"),
                "timestamp": stamp,
                "question": format!("Отчёт по интервью №{number}: ключевые выводы"),
                "size_bytes": 2_048 + i,
                "tokens": 1_500 + i % 700,
                "search_type": if i % 3 == 0 { "deep" } else { "fast" },
                "report_number": number,
            })
        })
        .collect();
    let text = serde_json::to_string_pretty(&entries).expect("encode index");
    fs::write(dir.join("index.json"), text).expect("write index");
    for number in 1..=USER_REPORTS {
        fs::write(dir.join(format!("user_{USER}/voxpersona_{number:06}.txt")), b"report body").expect("file");
    }
}

fn new_report() -> NewReport {
    NewReport {
        user_id: USER,
        username: Some("bench".into()),
        title: "Новый отчёт".into(),
        search_type: "fast".into(),
        job_id: None,
        tokens: 1_000,
        content: vec![b'x'; 4_096],
        timestamp: None,
    }
}

fn benches(c: &mut Criterion) {
    let dir = BenchDir(std::env::temp_dir().join(format!("vox-my-reports-bench-{}", std::process::id())));
    generate(&dir.0);
    let storage = Storage::open(&dir.0).expect("open");
    assert_eq!(storage.list_blocking(USER).expect("list").len(), USER_REPORTS);

    c.bench_function("list user 42 (1k of 100k, warm cache)", |b| {
        b.iter(|| storage.list_blocking(USER).expect("list"))
    });

    let mut group = c.benchmark_group("writes (100k index, fsync)");
    group.sample_size(20);
    let target = "user_42/voxpersona_000500.txt";
    let mut flip = false;
    group.bench_function("rename", |b| {
        b.iter(|| {
            flip = !flip;
            let title = if flip {
                "Переименованный отчёт A"
            } else {
                "Переименованный отчёт B"
            };
            let renamed = storage.rename_blocking(USER, 500, target, title).expect("rename");
            assert!(matches!(renamed, Renamed::Renamed { .. }));
        })
    });
    group.bench_function("delete (report saved in untimed setup)", |b| {
        b.iter_batched(
            || storage.save_report_blocking(new_report()).expect("save"),
            |report| storage.delete_blocking(USER, report.number, &report.file_path).expect("delete"),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("save + delete", |b| {
        b.iter(|| {
            let report = storage.save_report_blocking(new_report()).expect("save");
            storage.delete_blocking(USER, report.number, &report.file_path).expect("delete")
        })
    });
    group.finish();

    let mut group = c.benchmark_group("cold");
    group.sample_size(10);
    let index = dir.0.join("index.json");
    group.bench_function("list after another writer changed index.json (full reload)", |b| {
        b.iter_batched(
            || {
                let file = fs::File::options().write(true).open(&index).expect("open index");
                file.set_modified(SystemTime::now() + Duration::from_secs(1)).expect("bump mtime");
            },
            |()| storage.list_blocking(USER).expect("list"),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(storage_benches, benches);
criterion_main!(storage_benches);
