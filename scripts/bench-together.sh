#!/usr/bin/env bash
# A diagnostic beside bench-throughput.sh: the two bots served at the same
# time, each against a fake Bot API of its own, so both see the same machine
# (bench-throughput.sh runs them one after the other, and the machine drifts
# by more than the difference between them). Each round starts two fakes and
# two bots, warms both up, queues BATCH `/echo` from USERS chats into both
# fakes at once, waits for every sendMessage, and reads each bot's CPU time
# (utime+stime) over its batch. Prints each round's CPU ticks and
# candidate/base, then the median of those ratios. The four processes share
# the two cores, so absolute figures mean little; the ratio is the point.
# Not the issue's measure (that is bench-throughput.sh's): a way to decide
# between two builds when one run's noise is larger than their difference.
#
#   scripts/bench-together.sh                           # the host against the bare teloxide bot
#   scripts/bench-together.sh --base-bin /tmp/old_host_echo_bot   # the host against an older build of itself
#
# Options: -n RUNS (7), -b BATCH (50000), -u USERS (100), --base-bin PATH.
# Uses the release binaries (build them with bench-throughput.sh or
# bench-instructions.sh --build-only). Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
prog=bench-together.sh

runs=7 batch=50000 users=100 base_bin=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) runs="$2"; shift 2 ;;
    -b) batch="$2"; shift 2 ;;
    -u) users="$2"; shift 2 ;;
    --base-bin) base_bin="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$prog: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

source scripts/lib/bench.sh
bench_bins
[[ -z $base_bin || -x $base_bin ]] || bench_die "--base-bin $base_bin is not an executable"
work="$(mktemp -d)"
started=()
stop_all() {
  local pid
  for pid in "${started[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  started=()
}
trap 'stop_all; rm -rf "$work"' EXIT

declare -A control_of pid_of
# start_pair SLOT KIND [BIN]: a fake and a bot of KIND (bare | host), the host from BIN if given.
start_pair() {
  local slot=$1 kind=$2 bin=${3:-$host_bin}
  start_fake
  control_of[$slot]=$control
  started+=("$fake_pid")
  local own=$host_bin
  host_bin=$bin
  start_bot "$kind"
  host_bin=$own
  pid_of[$slot]=$bot_pid
  started+=("$bot_pid")
  # bench_stop must not stop these: they are stopped together at the round's end.
  fake_pid="" bot_pid=""
}
push_both() {
  local slot pushers=()
  for slot in base cand; do
    api -X POST "${control_of[$slot]}/push_text?users=$users&count=$1&text=/echo" >/dev/null &
    pushers+=($!)
  done
  wait "${pushers[@]}"
  for slot in base cand; do
    api "${control_of[$slot]}/wait?method=sendMessage&ok=$2&timeout_secs=600" >/dev/null
  done
}

base_name=bare
[[ -n $base_bin ]] && base_name="host ($base_bin)"
echo "batches of $batch /echo from $users users into both bots at once; $runs rounds; base: $base_name"
echo "round base_cpu_ticks host_cpu_ticks host/base"
for round in $(seq "$runs"); do
  if [[ -n $base_bin ]]; then start_pair base host "$base_bin"; else start_pair base bare; fi
  start_pair cand host
  push_both 2000 2000
  b0=$(cpu_ticks "${pid_of[base]}") c0=$(cpu_ticks "${pid_of[cand]}")
  push_both "$batch" $((2000 + batch))
  b1=$(cpu_ticks "${pid_of[base]}") c1=$(cpu_ticks "${pid_of[cand]}")
  stop_all
  awk -v r="$round" -v b=$((b1 - b0)) -v c=$((c1 - c0)) 'BEGIN { printf "%d %d %d %.3f\n", r, b, c, c / b }' \
    | tee -a "$work/results"
done
awk '{ print $4 }' "$work/results" | sort -n \
  | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
      printf "host/base CPU per update, median of %d rounds: %.3f (from %.3f to %.3f)\n", NR, m, v[1], v[NR] }'
