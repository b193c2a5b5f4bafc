//! The state-store campaign. After every kill the store must open (not be set
//! aside), and each dialogue must hold the last write the child was told was
//! stored — or the one in flight at the kill — never an older one.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use vox_host::services::state::{SqliteStore, StateKey, StateStore};

use crate::Tally;
use crate::child::{KEYS, resolve};
use crate::kill;
use crate::rng::Rng;

/// `kills` kills of a child writing dialogues into `dir/state.sqlite3`.
pub fn campaign(dir: &Path, kills: u64, max_delay_ms: u64, seed: u64) -> Tally {
    let mut tally = Tally::default();
    let path = dir.join("state.sqlite3");
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return tally };
    let mut rng = Rng::new(seed ^ 0x57A7E);
    let mut model: BTreeMap<i64, u64> = BTreeMap::new();
    let disagree = |tally: &mut Tally, kill: u64, what: String| {
        tally.disagreements += 1;
        println!("  kill {kill}: {what}");
    };
    for kill in 1..=kills {
        let delay = Duration::from_micros(rng.below(max_delay_ms * 1000));
        let begun = 1 + rng.below(kill::BEGUN);
        let args = ["state-child".to_owned(), path.display().to_string(), kill.to_string()];
        let lines = kill::run(&args, begun, delay);
        tally.kills += 1;
        let mut in_flight: Option<(i64, u64)> = None;
        for line in &lines {
            let mut parts = line.split(' ');
            let (mark, key, n) = (
                parts.next(),
                parts.next().and_then(|k| k.parse().ok()),
                parts.next().and_then(|n| n.parse().ok()),
            );
            match (mark, key, n) {
                (Some("B"), Some(key), Some(n)) => in_flight = Some((key, n)),
                (Some("A"), Some(key), Some(n)) => {
                    model.insert(key, n);
                    in_flight = None;
                    tally.completed += 1;
                }
                _ => disagree(&mut tally, kill, format!("child: {line}")),
            }
        }
        tally.inside += u64::from(in_flight.is_some());
        let store = match SqliteStore::open(&path, &resolve) {
            Ok(s) => s,
            Err(e) => {
                disagree(&mut tally, kill, format!("the store does not open: {e}"));
                continue;
            }
        };
        for key in 0..KEYS as i64 {
            let got = rt.block_on(store.get(StateKey { chat: key, user: key }));
            let got = got.ok().flatten().and_then(|d| d.data.get("n").and_then(serde_json::Value::as_u64));
            let acked = model.get(&key).copied();
            let fine = got == acked || in_flight.is_some_and(|(k, n)| k == key && got == Some(n));
            if !fine {
                disagree(
                    &mut tally,
                    kill,
                    format!("key {key}: holds {got:?}, last acknowledged {acked:?}, in flight {in_flight:?}"),
                );
            }
            if let Some(n) = got {
                model.insert(key, n);
            }
        }
        store.close();
    }
    tally
}
