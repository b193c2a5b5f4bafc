//! SQLite (WAL, synchronous=NORMAL) against redb (non-durable and durable
//! commits): write and read latency of a 200-byte row, one transaction per
//! write, and how many rows survive the writing process aborting.
//!
//! `cargo run --release -- all <scratch dir>`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use redb::{ReadableDatabase, ReadableTableMetadata};

const TABLE: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("d");
const ROWS: u64 = 2000;

fn summary(mut ns: Vec<u128>) -> String {
    ns.sort_unstable();
    let at = |q: usize| ns[(ns.len() * q / 100).min(ns.len() - 1)] as f64 / 1000.0;
    format!("median {:.1} µs, p99 {:.1} µs", at(50), at(99))
}

fn sqlite_write(dir: &Path, abort: bool) {
    let c = rusqlite::Connection::open(dir.join("s.db")).expect("open");
    c.pragma_update(None, "journal_mode", "WAL").expect("wal");
    c.pragma_update(None, "synchronous", "NORMAL").expect("sync");
    c.execute("CREATE TABLE IF NOT EXISTS d (k INTEGER PRIMARY KEY, v BLOB)", []).expect("table");
    let row = vec![b'x'; 200];
    let mut writes = Vec::new();
    for i in 0..ROWS {
        let t = Instant::now();
        c.execute("INSERT OR REPLACE INTO d VALUES (?1, ?2)", rusqlite::params![i as i64, &row]).expect("insert");
        writes.push(t.elapsed().as_nanos());
    }
    let mut reads = Vec::new();
    let mut q = c.prepare_cached("SELECT v FROM d WHERE k = ?1").expect("prepare");
    for i in 0..ROWS {
        let t = Instant::now();
        let _v: Vec<u8> = q.query_row([i as i64], |r| r.get(0)).expect("read");
        reads.push(t.elapsed().as_nanos());
    }
    println!("sqlite WAL NORMAL: write {}; read {}", summary(writes), summary(reads));
    if abort {
        std::process::abort();
    }
}

fn redb_write(dir: &Path, durable: bool, abort: bool) {
    let db = redb::Database::create(dir.join("r.redb")).expect("open");
    let row = vec![b'x'; 200];
    let mut writes = Vec::new();
    for i in 0..ROWS {
        let t = Instant::now();
        let mut w = db.begin_write().expect("begin");
        if !durable {
            w.set_durability(redb::Durability::None).expect("durability");
        }
        w.open_table(TABLE).expect("table").insert(i, row.as_slice()).expect("insert");
        w.commit().expect("commit");
        writes.push(t.elapsed().as_nanos());
    }
    let mut reads = Vec::new();
    for i in 0..ROWS {
        let t = Instant::now();
        let r = db.begin_read().expect("read");
        let _v = r.open_table(TABLE).expect("table").get(i).expect("get").map(|v| v.value().to_vec());
        reads.push(t.elapsed().as_nanos());
    }
    let mode = if durable { "Immediate" } else { "None" };
    println!("redb Durability::{mode}: write {}; read {}", summary(writes), summary(reads));
    if abort {
        std::process::abort();
    }
}

fn count(dir: &Path, store: &str) -> u64 {
    if store == "sqlite" {
        let c = rusqlite::Connection::open(dir.join("s.db")).expect("open");
        c.query_row("SELECT count(*) FROM d", [], |r| r.get::<_, i64>(0)).expect("count") as u64
    } else {
        let db = redb::Database::create(dir.join("r.redb")).expect("open");
        let r = db.begin_read().expect("read");
        r.open_table(TABLE).map(|t| t.len().expect("len")).unwrap_or(0)
    }
}

fn fresh(dir: &Path, name: &str) -> PathBuf {
    let d = dir.join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("dir");
    d
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, dir) = (args.get(1).map(String::as_str), PathBuf::from(args.get(2).map_or("/tmp/state-choice", |s| s)));
    match mode {
        Some("sqlite-abort") => sqlite_write(&dir, true),
        Some("redb-abort") => redb_write(&dir, false, true),
        _ => {
            sqlite_write(&fresh(&dir, "sqlite"), false);
            redb_write(&fresh(&dir, "redb-none"), false, false);
            redb_write(&fresh(&dir, "redb-immediate"), true, false);
            for store in ["sqlite", "redb"] {
                let d = fresh(&dir, &format!("{store}-abort"));
                let me = std::env::current_exe().expect("exe");
                let _ = Command::new(me).arg(format!("{store}-abort")).arg(&d).output().expect("child");
                println!("{store}: {} of {ROWS} rows after the writer aborted", count(&d, store));
            }
        }
    }
}
