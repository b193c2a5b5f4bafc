//! `vox-smoke` fails when it should: against a "host" that exits at once it
//! reports check 1 as FAIL (and the rest as not run) and exits 1; a missing
//! host binary or a bad argument exits 2. The passing run is `scripts/smoke.sh`.

use std::process::Command;

const SMOKE: &str = env!("CARGO_BIN_EXE_vox-smoke");

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_host_that_does_not_start_fails_check_1_and_exits_1() {
    let out = Command::new(SMOKE).args(["--host-bin", "/bin/false"]).output().expect("vox-smoke runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("FAIL  1 host starts without errors: expected a running host, but it exited"),
        "{stdout}"
    );
    assert!(stdout.contains("FAIL 12 size refusal for a list over 10 MB: not run"), "{stdout}");
    assert!(stdout.contains("0/12 checks passed; FAILED: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12"), "{stdout}");
    assert!(stdout.contains("SMOKE FAILED"), "{stdout}");
    // A failed run keeps its evidence; this test cleans it up.
    let kept = stdout.lines().find_map(|l| l.strip_prefix("work directory kept: ")).expect("kept dir");
    let dir = kept.split(" (").next().expect("path");
    assert!(std::path::Path::new(dir).join("details.txt").is_file(), "{dir}");
    std::fs::remove_dir_all(dir).expect("remove the kept work directory");
}

#[test]
fn a_missing_host_binary_or_a_bad_argument_exits_2() {
    let out = Command::new(SMOKE).args(["--host-bin", "/nonexistent/vox-host"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no such file"), "{}", text(&out.stderr));
    let out = Command::new(SMOKE)
        .args(["--host-bin", "/bin/false", "--snapshot-ttl", "zero"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--snapshot-ttl zero"), "{}", text(&out.stderr));
}
