//! `vox-smoke`: the plan's 12 smoke checks against a running host — a real
//! `vox-host run` child process serving a fake Telegram Bot API on 127.0.0.1,
//! over seeded VoxPersona reports, with my-reports on the v2 flow.
//!
//! Prints one `PASS`/`FAIL` line per check, then a summary (checks passed, how
//! the host stopped on SIGTERM, run time). Exit code 0 only if all 12 checks
//! pass, the host's log has no ERROR line and it stopped cleanly within 20 s;
//! 1 otherwise; 2 when the run itself could not be set up.
//!
//! Layout (beside this file): `args.rs` command line; `workdir.rs` the temp
//! directory; `seed.rs` and `big_list.rs` the reports; `host.rs` the child
//! process; `health.rs` `GET /healthz`; `logscan.rs` ERROR lines; `index.rs`
//! reading `index.json`; `outcome.rs` results and their lines; `checks/` the
//! checks; `report.rs` the summary and the details file.

mod args;
mod big_list;
mod checks;
mod health;
mod host;
mod index;
mod logscan;
mod outcome;
mod report;
mod seed;
mod workdir;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use vox_fake_bot_api::FakeBotApi;

use crate::args::{Args, NotARun};
use crate::checks::{Ctx, users};
use crate::host::{HostProcess, Launch};
use crate::index::Reports;
use crate::outcome::{CHECKS, CheckResult, attempt};
use crate::workdir::WorkDir;

/// The default `max_list_bytes` of my-reports (config/default.toml): 10 MiB.
const LIST_LIMIT: u64 = 10 * 1024 * 1024;
/// How long the host may take to stop on SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(20);
/// How long writing the over-the-limit user's report files may take.
const SEED_BUDGET: Duration = Duration::from_secs(8);

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(NotARun::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(NotARun::Bad(why)) => {
            eprintln!("vox-smoke: {why}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vox-smoke: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    outcome::quiet_panics();
    let outcome = runtime.block_on(async {
        tokio::select! {
            done = attempt(run(args)) => done,
            signal = interrupted() => Err(format!("interrupted by {signal}; the host was killed")),
        }
    });
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(why) => {
            eprintln!("vox-smoke: {why}");
            ExitCode::from(2)
        }
    }
}

/// Ctrl-C or SIGTERM: dropping the run then kills the host and removes the work directory.
async fn interrupted() -> &'static str {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = term.recv() => "SIGTERM",
    }
}

/// Sets up, runs the checks in order, stops the host; `Ok(all good)`.
async fn run(args: Args) -> Result<bool, String> {
    let started = Instant::now();
    if !args.host_bin.is_file() {
        return Err(format!("--host-bin {}: no such file", args.host_bin.display()));
    }
    let (mut work, seeded) = prepare()?;
    host::write_config(&work.config_file()).map_err(|e| format!("writing the config: {e}"))?;
    let api = FakeBotApi::start().await.map_err(|e| format!("starting the fake Bot API: {e}"))?;
    let launch = Launch {
        bin: args.host_bin.clone(),
        config: work.config_file(),
        data_dir: work.data_dir(),
        token: api.token().to_owned(),
        api_url: api.url(),
        ops: health::free_local_addr().map_err(|e| format!("no free 127.0.0.1 port for /healthz: {e}"))?,
        snapshot_ttl: args.snapshot_ttl,
        max_list_bytes: seeded.big.lowered.as_ref().map(|_| seeded.big.limit),
        log: work.host_log(),
    };
    println!(
        "vox-smoke: {} (my-reports v2, snapshot TTL {} s), fake Bot API {}, {} reports ({:.1} MB index.json) seeded in {:.1} s",
        args.host_bin.display(),
        args.snapshot_ttl.as_secs(),
        api.url(),
        seeded.entries,
        seeded.index_bytes as f64 / 1e6,
        seeded.took.as_secs_f64()
    );
    let mut host =
        HostProcess::spawn(&launch).map_err(|e| format!("starting {}: {e}", args.host_bin.display()))?;
    let ctx =
        Ctx { api: api.clone(), reports: Reports::new(work.reports_dir()), snapshot_ttl: args.snapshot_ttl };

    let mut results: Vec<CheckResult> = Vec::new();
    let first = checks::start::check(&ctx, &mut host, &launch.log, launch.ops).await;
    report::emit(&mut results, CheckResult { number: 1, verdict: first, chat: None });
    let errors_at_start = logscan::errors(&logscan::read(&launch.log)).len();

    if host_alive(&mut host, &mut results) {
        for r in checks::list::run(&ctx).await {
            report::emit(&mut results, r);
        }
    }
    if host_alive(&mut host, &mut results) {
        let runs = checks::actions::run(&ctx).await;
        for run in &runs {
            report::emit(&mut results, run.result.clone());
        }
        report::emit(&mut results, checks::aftermath::confirmations(&runs));
        let cleanup = checks::aftermath::cleanup(&ctx, &runs, checks::aftermath::CLEANUP_WAIT).await;
        report::emit(&mut results, cleanup);
    }
    if host_alive(&mut host, &mut results) {
        report::emit(&mut results, checks::timeout::run(&ctx).await);
    }
    if host_alive(&mut host, &mut results) {
        report::emit(&mut results, checks::lock::run(&ctx).await);
    }
    if host_alive(&mut host, &mut results) {
        report::emit(&mut results, checks::size::run(&ctx, &seeded.big).await);
    }

    let stopped = host.terminate(STOP_GRACE).await.map_err(|e| format!("stopping the host: {e}"))?;
    let log = logscan::read(&launch.log);
    let errors = logscan::errors(&log);
    let summary = report::Summary {
        results: &results,
        stopped: &stopped,
        errors_after_start: errors.get(errors_at_start..).unwrap_or_default(),
        took: started.elapsed(),
    };
    let ok = summary.print();
    if !ok || args.keep {
        work.keep();
        report::write_details(&work, &api, &results, &errors, &outcome::recorded_panics());
        println!("work directory kept: {} (host.log, details.txt, vox.toml, data/)", work.path().display());
    }
    api.shutdown().await;
    Ok(ok)
}

/// A work directory with the reports seeded, in the first place with room for them.
fn prepare() -> Result<(WorkDir, seed::Seeded), String> {
    let mut full = Vec::new();
    for base in WorkDir::bases() {
        let work = WorkDir::create_in(&base)
            .map_err(|e| format!("cannot create a work directory in {}: {e}", base.display()))?;
        match seed::seed(&work.reports_dir(), &users::DEMO, users::BIG, LIST_LIMIT, SEED_BUDGET) {
            Ok(seeded) => return Ok((work, seeded)),
            // Dropping `work` removes what was written.
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => full.push(base.display().to_string()),
            Err(e) => return Err(format!("seeding {}: {e}", work.reports_dir().display())),
        }
    }
    Err(format!("no room to seed the reports in {}", full.join(" or ")))
}

/// Whether the host still runs; if not, the checks not run yet fail with that reason.
fn host_alive(host: &mut HostProcess, results: &mut Vec<CheckResult>) -> bool {
    let Some(status) = host.exited() else { return true };
    let done: Vec<usize> = results.iter().map(|r| r.number).collect();
    for number in (1..=CHECKS.len()).filter(|n| !done.contains(n)) {
        let verdict = Err(format!("not run: the host is no longer running ({status})"));
        report::emit(results, CheckResult { number, verdict, chat: None });
    }
    false
}
