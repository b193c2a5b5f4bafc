//! The crash campaigns at CI's size: children writing the report store and the
//! state store are killed with SIGKILL at random moments, and what they leave
//! is checked after every kill (`src/bin/vox-crash`). The 1,000-kill run is
//! `cargo run --release -p vox-testkit --bin vox-crash -- campaign --kills 1000`
//! (figures in docs/RELIABILITY.md).

use std::process::Command;

fn figure(out: &str, store: &str, what: &str) -> u64 {
    let line =
        out.lines().find(|l| l.starts_with(store)).unwrap_or_else(|| panic!("no `{store}` line in:\n{out}"));
    let after = line.split(what).nth(1).unwrap_or_else(|| panic!("no `{what}` in {line}"));
    after.trim().split([',', ' ']).next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{line}"))
}

#[test]
fn killed_writers_never_leave_a_store_that_disagrees() {
    let out = Command::new(env!("CARGO_BIN_EXE_vox-crash"))
        .args(["campaign", "--kills", "80", "--max-delay-ms", "40", "--seed", "7"])
        .output()
        .expect("vox-crash runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "a campaign found disagreements:\n{text}");
    for store in ["report store", "state store"] {
        assert_eq!(figure(&text, store, "kills "), 80, "{text}");
        assert_eq!(figure(&text, store, "disagreements "), 0, "{text}");
        assert!(figure(&text, store, "inside an operation ") > 40, "most kills land inside a write:\n{text}");
        // Each kill waits for the child's 1st to 3rd operation to begin, so about
        // one completed operation per kill is there however slow the disk is.
        assert!(figure(&text, store, "operations completed ") > 40, "the children got work done:\n{text}");
    }
}
