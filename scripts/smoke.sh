#!/usr/bin/env bash
# Smoke test of a built host: builds vox-host and the vox-smoke checker, then
# runs the plan's 12 checks against a real `vox-host run` process talking to a
# fake Telegram Bot API on 127.0.0.1 (no network, no token), over seeded
# reports with my-reports on v2. One PASS/FAIL line per check, then a summary;
# the exit code is the checker's (0 only if all 12 pass and the host stopped
# cleanly on SIGTERM).
#
#   scripts/smoke.sh                       # debug build
#   scripts/smoke.sh --release             # release build (what you deploy)
#   scripts/smoke.sh --snapshot-ttl 8      # my-reports snapshot TTL for the run (default 5 s)
#   scripts/smoke.sh --keep                # keep the work dir (config, data, host.log)
#
# Honours CARGO_TARGET_DIR (and any target-dir cargo is configured with).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
build_args=()
smoke_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --release) profile=release; build_args+=(--release); shift ;;
    --snapshot-ttl)
      [[ $# -ge 2 ]] || { echo "smoke.sh: --snapshot-ttl needs a number of seconds" >&2; exit 2; }
      smoke_args+=(--snapshot-ttl "$2"); shift 2 ;;
    --snapshot-ttl=*) smoke_args+=(--snapshot-ttl "${1#*=}"); shift ;;
    --keep) smoke_args+=(--keep); shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "smoke.sh: unknown argument $1 (--release | --snapshot-ttl SECS | --keep)" >&2; exit 2 ;;
  esac
done

cargo build --locked "${build_args[@]}" -p vox-bot -p vox-testkit --bin vox-host --bin vox-smoke

target_dir="$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
target_dir="${target_dir:-${CARGO_TARGET_DIR:-target}}"
bin_dir="$target_dir/$profile"
for bin in vox-host vox-smoke; do
  [[ -x "$bin_dir/$bin" ]] || { echo "smoke.sh: $bin_dir/$bin was not built" >&2; exit 2; }
done

exec "$bin_dir/vox-smoke" --host-bin "$bin_dir/vox-host" "${smoke_args[@]}"
