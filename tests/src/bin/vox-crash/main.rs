//! Crash campaigns: a child process writes — report-store operations on a
//! real reports directory, or dialogue state into the SQLite state store —
//! and is killed with SIGKILL a random delay after it began one of its first
//! few operations (`kill.rs`), again and again; after every kill the parent
//! opens what the child left and checks it (see `reports.rs` and `state.rs`
//! for what is checked). Figures: docs/RELIABILITY.md.
//!
//! ```text
//! vox-crash campaign [--store reports|state|both] [--kills N] [--max-delay-ms M] [--seed S]
//! vox-crash reports-child DIR SEED      (what the campaign starts)
//! vox-crash state-child FILE SEED
//! ```

mod child;
mod kill;
mod reports;
mod rng;
mod state;

use std::path::PathBuf;
use std::process::ExitCode;

/// What one campaign found.
#[derive(Debug, Default)]
pub struct Tally {
    /// Kills made.
    pub kills: u64,
    /// Kills that landed while an operation was in flight (begun, not finished).
    pub inside: u64,
    /// Operations the children completed in all.
    pub completed: u64,
    /// Checks that failed; each is printed.
    pub disagreements: u64,
}

impl Tally {
    fn print(&self, store: &str) {
        println!(
            "{store}: kills {}, inside an operation {}, operations completed {}, disagreements {}",
            self.kills, self.inside, self.completed, self.disagreements
        );
    }
}

struct Options {
    store: String,
    kills: u64,
    max_delay_ms: u64,
    seed: u64,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options { store: "both".into(), kills: 1000, max_delay_ms: 60, seed: 1 };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<u64>().map_err(|_| format!("{flag}: `{value}` is not a number"));
        match flag.as_str() {
            "--store" if ["reports", "state", "both"].contains(&value.as_str()) => o.store = value.clone(),
            "--kills" => o.kills = number()?,
            "--max-delay-ms" => o.max_delay_ms = number()?.max(1),
            "--seed" => o.seed = number()?,
            _ => return Err(format!("unknown option {flag} {value}")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("reports-child") if args.len() == 3 => child::reports(PathBuf::from(&args[1]), seed(&args[2])),
        Some("state-child") if args.len() == 3 => child::state(PathBuf::from(&args[1]), seed(&args[2])),
        Some("campaign") => match parse(&args[1..]) {
            Ok(o) => campaign(&o),
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        },
        _ => {
            eprintln!(
                "usage: vox-crash campaign [--store reports|state|both] [--kills N] [--max-delay-ms M] [--seed S]"
            );
            2
        }
    };
    ExitCode::from(code)
}

fn seed(text: &str) -> u64 {
    text.parse().unwrap_or(1)
}

fn campaign(o: &Options) -> u8 {
    let scratch = std::env::temp_dir().join(format!("vox-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let mut failed = false;
    if o.store != "state" {
        let tally = reports::campaign(&scratch.join("reports"), o.kills, o.max_delay_ms, o.seed);
        tally.print("report store");
        failed |= tally.disagreements > 0;
    }
    if o.store != "reports" {
        let tally = state::campaign(&scratch.join("state"), o.kills, o.max_delay_ms, o.seed);
        tally.print("state store");
        failed |= tally.disagreements > 0;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    u8::from(failed)
}
