#!/usr/bin/env bash
# Resident memory of the host: idle, as distinct users keep arriving, and with
# many dialogues open. The host is `vox-host run` as production starts it
# (idle) and the same host with the bench's echo plugin linked
# (tests/bench-bots/src/bin/host_echo_bot.rs) for the two loads, against the fake Bot API
# in a process of its own; default state store (SQLite), JSON log at info to
# /dev/null, ops endpoints on, message tracker on.
#
#   1. idle: `vox-host run` started, polling, after SETTLE seconds: VmRSS.
#   2. users: USERS distinct users in steps of STEP, each sending one /echo
#      (ids never seen before); VmRSS after each step. Bounded memory means the
#      last steps stay flat: the tracker keeps at most 65,536 chats and served
#      users are a fixed-size sketch.
#   3. dialogues: a fresh host; DIALOGUES users each send /open, which opens a
#      dialogue (a step with a little data) and keeps it open; VmRSS after.
#
#   scripts/bench-memory.sh                  # 150,000 users in steps of 10,000; 10,000 dialogues
#   scripts/bench-memory.sh -U 50000 -D 2000 --no-build
#
# Options: -U USERS (150000), -s STEP (10000), -D DIALOGUES (10000), -S SETTLE (3), --no-build.
# Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
prog=bench-memory.sh

total=150000 step=10000 dialogues=10000 settle=3 build=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    -U) total="$2"; shift 2 ;;
    -s) step="$2"; shift 2 ;;
    -D) dialogues="$2"; shift 2 ;;
    -S) settle="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$prog: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

source scripts/lib/bench.sh
if [[ $build == 1 ]]; then
  bench_build
  cargo build --locked --release -p vox-bot --bin vox-host
fi
bench_bins
[[ -x $run_bin ]] || bench_die "$run_bin is missing (cargo build --release -p vox-bot)"
work="$(mktemp -d)"
trap 'bench_stop; rm -rf "$work"' EXIT
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# The echo answers each message once: sendMessage's ok count is the messages served.
served=0
push_users() { # FIRST COUNT TEXT
  api -X POST "$control/push_text?users=$2&count=$2&first_user=$1&text=$3" >/dev/null
  served=$((served + $2))
  api "$control/wait?method=sendMessage&ok=$served&timeout_secs=600" >/dev/null
}

echo "== idle: vox-host run"
start_fake
start_bot run
sleep "$settle"
printf 'idle RSS %s MB (peak %s MB), %s threads\n' "$(mb "$(rss_kb "$bot_pid")")" "$(mb "$(hwm_kb "$bot_pid")")" \
  "$(awk '/^Threads:/ { print $2 }' "/proc/$bot_pid/status")"
bench_stop

echo "== $total distinct users, one /echo each, in steps of $step"
start_fake
start_bot host
served=0
printf '%10s %10s %10s\n' users "RSS MB" "peak MB"
for ((first = 1001; first < 1001 + total; first += step)); do
  push_users "$first" "$step" /echo
  printf '%10d %10s %10s\n' $((first - 1001 + step)) "$(mb "$(rss_kb "$bot_pid")")" "$(mb "$(hwm_kb "$bot_pid")")"
done
bench_stop

echo "== $dialogues open dialogues"
start_fake
start_bot host
served=0
push_users 1001 "$dialogues" /open
sleep 1
rss=$(rss_kb "$bot_pid") hwm=$(hwm_kb "$bot_pid")
bench_stop
# Each /open must have opened one: an error in set_step would still be answered (with an apology).
open=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from dialogues").fetchone()[0])' \
  "$work/data-host/state.sqlite3")
[[ $open == "$dialogues" ]] || bench_die "$open dialogues in the state store, $dialogues expected"
printf '%d dialogues open (the state store holds %d): RSS %s MB (peak %s MB)\n' "$dialogues" "$open" "$(mb "$rss")" "$(mb "$hwm")"
