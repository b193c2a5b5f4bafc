#!/usr/bin/env bash
# End-to-end cost per update: a bare teloxide 0.17 echo bot against vox-host
# serving the same echo through a plugin, each bot a process of its own, the
# fake Telegram Bot API (vox-fake-bot-api) a third. Builds release, then runs
# RUNS rounds; each round starts a fresh fake and a fresh bot for each of the
# two (the order alternates per round), warms the bot up, then times one batch
# of BATCH `/echo` messages from USERS private chats until every one got its
# sendMessage. Reads the bot's CPU time (utime+stime) from /proc/<pid>/stat
# before and after the batch, and its peak RSS (VmHWM) at the end. Prints one
# line per batch, then the medians and the host/bare ratios.
#
#   scripts/bench-throughput.sh                 # 5 rounds of 20,000 updates from 100 users
#   scripts/bench-throughput.sh -n 9 -b 50000   # more rounds, bigger batches
#   scripts/bench-throughput.sh --no-build      # reuse the release binaries
#   scripts/bench-throughput.sh --redis         # the host on its default state store vs the
#                                               # same host on Redis (a redis-server it starts)
#   scripts/bench-throughput.sh --perf DIR      # then one extra batch per bot under
#                                               # `perf record`: DIR/bare.data, DIR/host.data
#                                               # (not in the table; perf slows the bot)
#
# Options: -n RUNS (5), -b BATCH (20000), -u USERS (100), -w WARMUP (2000).
# The host's JSON log goes to /dev/null. Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5 batch=20000 users=100 warmup=2000 build=1 perf_out="" base=bare cand=host
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) runs="$2"; shift 2 ;;
    -b) batch="$2"; shift 2 ;;
    -u) users="$2"; shift 2 ;;
    -w) warmup="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --perf) perf_out="$2"; shift 2 ;;
    --redis) base=host cand=redis; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-throughput.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [[ $build == 1 ]]; then
  cargo build --locked --release -p vox-fake-bot-api --bin vox-fake-bot-api
  cargo build --locked --release -p vox-testkit --example bare_echo_bot --example host_echo_bot
fi
target_dir="${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')}"
fake_bin="$target_dir/release/vox-fake-bot-api"
bare_bin="$target_dir/release/examples/bare_echo_bot"
host_bin="$target_dir/release/examples/host_echo_bot"
for bin in "$fake_bin" "$bare_bin" "$host_bin"; do
  [[ -x $bin ]] || { echo "bench-throughput.sh: $bin is missing (build first)" >&2; exit 1; }
done

hz="$(getconf CLK_TCK)"
work="$(mktemp -d)"
fake_pid="" bot_pid="" redis_pid="" redis_url=""
stop() {
  # Only the processes this script started, by pid.
  local pid
  for pid in "$bot_pid" "$fake_pid"; do
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  bot_pid="" fake_pid=""
}
trap 'stop; [[ -n $redis_pid ]] && kill "$redis_pid" 2>/dev/null; rm -rf "$work"' EXIT
if [[ $cand == redis ]]; then
  command -v redis-server >/dev/null || { echo "bench-throughput.sh: --redis needs redis-server (apt-get install redis-server)" >&2; exit 1; }
  redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >/dev/null &
  redis_pid=$!
  redis_url="redis://127.0.0.1:$redis_port/"
  sleep 0.3
fi

# utime + stime of a whole process (every thread), in clock ticks. The command
# name in field 2 is parenthesised; what follows ") " starts at field 3.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
now_ns() { date +%s%N; }
# Busy ticks of the whole machine (all CPUs), for what else ran during a batch.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
api() { curl -sS -f --max-time 130 "$@"; }

start_fake() {
  "$fake_bin" --port 0 >"$work/fake.out" 2>"$work/fake.err" &
  fake_pid=$!
  local i
  for i in $(seq 100); do
    [[ -s $work/fake.out ]] && break
    sleep 0.05
  done
  read -r fake_url fake_token <"$work/fake.out" \
    || { echo "bench-throughput.sh: the fake did not start: $(cat "$work/fake.err")" >&2; exit 1; }
  control="${fake_url%/}/_control"
}

start_bot() {
  local which=$1 data="$work/data-$1"
  rm -rf "$data"
  mkdir -p "$data"
  local bin=$bare_bin state=()
  [[ $which != bare ]] && bin=$host_bin
  [[ $which == redis ]] && state=(VOX__STATE__BACKEND=redis VOX__REDIS__URL="$redis_url")
  # Ops endpoints on (a free port), as in production: /metrics is updated per update.
  # The flood-limit throttle off: the bare teloxide bot does not throttle either,
  # and 100 chats at Telegram's pace would measure Telegram's limits, not the bots.
  VOX__TELEGRAM__THROTTLE=false \
  VOX__TELEGRAM__TOKEN="$fake_token" VOX__TELEGRAM__API_URL="$fake_url" \
    VOX__TELEGRAM__POLL_TIMEOUT_SECS=1 VOX__HOST__DATA_DIR="$data" \
    VOX__OPS__LISTEN=127.0.0.1:0 VOX__LOG__FORMAT=json VOX__LOG__LEVEL="${VOX_BENCH_LOG_LEVEL:-info}" \
    env "${state[@]}" "$bin" >/dev/null 2>/dev/null &
  bot_pid=$!
  api "$control/wait?method=getUpdates&ok=1&timeout_secs=20" >/dev/null
}

# Queues $1 messages and waits until sendMessage has $2 ok answers in all.
push_and_wait() {
  api -X POST "$control/push_text?users=$users&count=$1&text=/echo" >/dev/null
  api "$control/wait?method=sendMessage&ok=$2&timeout_secs=120" >/dev/null
}

# One round for one bot: appends "bot ups cpu_ms_per_1k fake_cpu_ms_per_1k hwm_kb others_pct load round"
# to results; others_pct is the CPU that neither the bot nor the fake used during the
# batch, in % of the machine: other builds, this script's curl, the kernel's own threads.
measure() {
  local which=$1
  start_fake
  start_bot "$which"
  push_and_wait "$warmup" "$warmup"
  local c0 f0 m0 t0 c1 f1 m1 t1
  c0=$(cpu_ticks "$bot_pid") f0=$(cpu_ticks "$fake_pid") m0=$(machine_ticks) t0=$(now_ns)
  push_and_wait "$batch" $((warmup + batch))
  t1=$(now_ns) c1=$(cpu_ticks "$bot_pid") f1=$(cpu_ticks "$fake_pid") m1=$(machine_ticks)
  local hwm counts
  hwm=$(hwm_kb "$bot_pid")
  counts=$(api "$control/counts")
  stop
  local sent
  sent=$(sed -n 's/.*"sendMessage":{"calls":\([0-9]*\).*/\1/p' <<<"$counts")
  if [[ $sent != $((warmup + batch)) ]]; then
    echo "bench-throughput.sh: $which made $sent sendMessage calls for $((warmup + batch)) messages" >&2
    exit 1
  fi
  awk -v w="$which" -v n="$batch" -v ns=$((t1 - t0)) -v c=$((c1 - c0)) -v f=$((f1 - f0)) \
    -v m=$((m1 - m0)) -v cpus="$(nproc)" -v hz="$hz" -v hwm="$hwm" -v load="$load" -v round="$round" 'BEGIN {
      per_1k = 1000 / hz / (n / 1000)
      others = 100 * (m - c - f) / (ns / 1e9 * hz * cpus)
      printf "%s %.0f %.1f %.1f %d %.0f %s %d\n", w, n / (ns / 1e9), c * per_1k, f * per_1k, hwm, others, load, round
    }' | tee -a "$work/results"
  [[ -n ${shown_counts[$which]:-} ]] || { echo "  $which Bot API calls: $counts"; shown_counts[$which]=1; }
}

declare -A shown_counts
echo "batches of $batch /echo from $users users, $warmup warm-up; $runs rounds; $(nproc) CPUs"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
echo "bot updates/s bot_cpu_ms_per_1k fake_cpu_ms_per_1k bot_peak_rss_kb others_cpu_% load1 round"
for round in $(seq "$runs"); do
  order="$base $cand"
  (( round % 2 == 0 )) && order="$cand $base"
  for which in $order; do
    load="$(cut -d' ' -f1 /proc/loadavg)"
    measure "$which"
  done
done

echo
printf '%-29s %10s %22s %15s %12s %13s\n' "median of $runs rounds" updates/s "bot CPU ms/1k updates" \
  "fake CPU ms/1k" "peak RSS MB" "others CPU %"
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
column_of() { awk -v w="$1" -v k="$2" '$1 == w { print $k }' "$work/results"; }
declare -A med_ups med_cpu
for which in $base $cand; do
  med_ups[$which]=$(column_of "$which" 2 | median)
  med_cpu[$which]=$(column_of "$which" 3 | median)
  fake=$(column_of "$which" 4 | median)
  rss_mb=$(column_of "$which" 5 | median | awk '{ print $1 / 1024 }')
  others=$(column_of "$which" 6 | median)
  printf '%-29s %10.0f %22.1f %15.1f %12.1f %13.0f\n' \
    "$which" "${med_ups[$which]}" "${med_cpu[$which]}" "$fake" "$rss_mb" "$others"
done
awk -v bu="${med_ups[$base]}" -v hu="${med_ups[$cand]}" -v bc="${med_cpu[$base]}" -v hc="${med_cpu[$cand]}" \
  -v name="$cand/$base" 'BEGIN {
  printf "%-29s %9.0f%% %21.0f%%\n", name ", of the medians", 100 * hu / bu, 100 * hc / bc
}'
# The machine drifts (a VM's neighbours, not visible in /proc/stat) over
# seconds; the two bots of a round ran back to back, so their ratio is steadier.
paired() {
  awk -v k="$1" -v b="$base" -v c="$cand" '{ v[$8, $1] = $k } END { for (r = 1; (r, b) in v; r++) print v[r, c] / v[r, b] }' \
    "$work/results" | median
}
printf '%-29s %9.0f%% %21.0f%%\n' "$cand/$base, median per round" "$(paired 2 | awk '{ print 100 * $1 }')" \
  "$(paired 3 | awk '{ print 100 * $1 }')"

if [[ -n $perf_out ]]; then
  mkdir -p "$perf_out"
  for which in $base $cand; do
    start_fake
    start_bot "$which"
    push_and_wait "$warmup" "$warmup"
    perf record -q -F 999 -e cpu-clock -g -p "$bot_pid" -o "$perf_out/$which.data" 2>/dev/null &
    perf_pid=$!
    sleep 0.5
    push_and_wait "$batch" $((warmup + batch))
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    stop
  done
  echo "profiles of one batch each: $perf_out/{bare,host}.data"
  echo "  perf report -i $perf_out/host.data --no-children --stdio --sort sym -g none"
fi
