//! The report-store campaign. After every kill the directory is opened (which
//! completes or rolls back an interrupted operation) and checked:
//! `index.json` parses with no malformed entry; every entry has its file and
//! every file its entry; each report's file holds the content saved with it;
//! a number is never given to a second report, and a new one is above every
//! number the user ever had; and the reports are exactly what the completed
//! operations left — with the operation in flight at the kill either fully
//! done or not at all.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use vox_report_store::Storage;

use crate::Tally;
use crate::child::USERS;
use crate::kill;
use crate::rng::Rng;

/// (user, number) → (job id, title).
type Reports = BTreeMap<(i64, u32), (String, String)>;

#[derive(Debug, Clone)]
enum InFlight {
    Save { job: String },
    Rename { key: (i64, u32), title: String },
    Delete { key: (i64, u32) },
}

struct Campaign {
    tally: Tally,
    /// Every (user, number) ever seen, with the report that had it.
    ever: BTreeMap<(i64, u32), String>,
}

impl Campaign {
    fn disagree(&mut self, kill: u64, what: String) {
        self.tally.disagreements += 1;
        println!("  kill {kill}: {what}");
    }

    /// A report seen now: its number must be its own for good.
    fn seen(&mut self, kill: u64, key: (i64, u32), job: &str) {
        match self.ever.get(&key) {
            Some(had) if had != job => {
                self.disagree(kill, format!("number {key:?} reused: {had} then {job}"))
            }
            Some(_) => {}
            None => {
                let highest = self.ever.range((key.0, 0)..=(key.0, u32::MAX)).map(|(k, _)| k.1).max();
                if highest.is_some_and(|h| key.1 <= h) {
                    self.disagree(kill, format!("new report {job} got {key:?}, not above {highest:?}"));
                }
                self.ever.insert(key, job.to_owned());
            }
        }
    }
}

fn parse(line: &str) -> Option<(&str, &str, i64, u32, &str)> {
    let mut parts = line.splitn(5, ' ');
    let (mark, op) = (parts.next()?, parts.next()?);
    let user = parts.next()?.parse().ok()?;
    let number = parts.next()?.parse().ok()?;
    Some((mark, op, user, number, parts.next().unwrap_or("")))
}

/// What the directory holds now, checked for consistency on the way.
fn observe(dir: &Path, kill: u64, c: &mut Campaign) -> Option<Reports> {
    let storage = match Storage::open(dir) {
        Ok(s) => s,
        Err(e) => {
            c.disagree(kill, format!("the store does not open: {e}"));
            return None;
        }
    };
    match storage.check_consistency_blocking() {
        Ok(k) if k.orphan_files.is_empty() && k.dangling_entries.is_empty() && k.malformed_entries == 0 => {}
        Ok(k) => c.disagree(kill, format!("inconsistent: {k:?}")),
        Err(e) => c.disagree(kill, format!("consistency check failed: {e}")),
    }
    let mut now = Reports::new();
    for user in 1..=USERS as i64 {
        let Ok(reports) = storage.list_blocking(user) else {
            c.disagree(kill, format!("user {user}: listing failed"));
            continue;
        };
        for r in reports {
            let job = r.job_id.clone().unwrap_or_default();
            let body = std::fs::read_to_string(dir.join(&r.file_path)).unwrap_or_default();
            if body != format!("body {job}") {
                c.disagree(kill, format!("{}: content {body:?} is not what {job} saved", r.file_path));
            }
            if now.insert((user, r.number), (job.clone(), r.title.clone())).is_some() {
                c.disagree(kill, format!("user {user}: number {} twice", r.number));
            }
            c.seen(kill, (user, r.number), &job);
        }
    }
    Some(now)
}

/// `kills` kills of a child writing to `dir`.
pub fn campaign(dir: &Path, kills: u64, max_delay_ms: u64, seed: u64) -> Tally {
    let mut c = Campaign { tally: Tally::default(), ever: BTreeMap::new() };
    let mut rng = Rng::new(seed ^ 0x5EED);
    let mut model = Reports::new();
    for kill in 1..=kills {
        let delay = Duration::from_micros(rng.below(max_delay_ms * 1000));
        let begun = 1 + rng.below(kill::BEGUN);
        let args =
            ["reports-child".to_owned(), dir.display().to_string(), (seed * 1_000_003 + kill).to_string()];
        let lines = kill::run(&args, begun, delay);
        c.tally.kills += 1;
        let mut expected = model.clone();
        let mut in_flight = None;
        for line in &lines {
            let Some((mark, op, user, number, arg)) = parse(line) else {
                c.disagree(kill, format!("child: {line}"));
                continue;
            };
            let key = (user, number);
            match (mark, op) {
                ("B", "save") => in_flight = Some(InFlight::Save { job: arg.to_owned() }),
                ("B", "rename") => in_flight = Some(InFlight::Rename { key, title: arg.to_owned() }),
                ("B", "delete") => in_flight = Some(InFlight::Delete { key }),
                ("D", "save") => {
                    expected.insert(key, (arg.to_owned(), arg.to_owned()));
                    c.seen(kill, key, arg);
                }
                ("D", "rename") => match expected.get_mut(&key) {
                    Some(r) => r.1 = arg.to_owned(),
                    None => c.disagree(kill, format!("renamed {key:?}, which the model does not have")),
                },
                ("D", "delete") => {
                    expected.remove(&key);
                }
                _ => c.disagree(kill, format!("child: {line}")),
            }
            if mark == "D" {
                in_flight = None;
                c.tally.completed += 1;
            }
        }
        c.tally.inside += u64::from(in_flight.is_some());
        let Some(now) = observe(dir, kill, &mut c) else { continue };
        let agrees = match &in_flight {
            None => now == expected,
            Some(InFlight::Rename { key, title }) => {
                let mut done = expected.clone();
                if let Some(r) = done.get_mut(key) {
                    r.1 = title.clone();
                }
                now == expected || now == done
            }
            Some(InFlight::Delete { key }) => {
                let mut done = expected.clone();
                done.remove(key);
                now == expected || now == done
            }
            Some(InFlight::Save { job }) => {
                let (saved, rest): (Reports, Reports) =
                    now.clone().into_iter().partition(|(_, r)| r.0 == *job);
                rest == expected && saved.len() <= 1
            }
        };
        if !agrees {
            c.disagree(kill, format!("after {in_flight:?}: expected {expected:?}, found {now:?}"));
        }
        model = now;
    }
    c.tally
}
