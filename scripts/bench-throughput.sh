#!/usr/bin/env bash
# End-to-end cost per update: a bare teloxide 0.17 echo bot against vox-host
# serving the same echo through a plugin, each bot a process of its own, the
# fake Telegram Bot API (vox-fake-bot-api) a third. Builds release, then runs
# RUNS rounds; each round starts a fresh fake and a fresh bot for each bot
# (the order rotates per round), warms the bot up, then times one batch of
# BATCH `/echo` messages from USERS private chats until every one got its
# sendMessage. Reads the bot's CPU time (utime+stime) from /proc/<pid>/stat
# before and after the batch, and its peak RSS (VmHWM) at the end. Prints one
# line per batch, then the medians and the ratios.
#
#   scripts/bench-throughput.sh                 # 5 rounds of 20,000 updates from 100 users
#   scripts/bench-throughput.sh -n 9 -b 50000   # more rounds, bigger batches
#   scripts/bench-throughput.sh --no-build      # reuse the release binaries
#   scripts/bench-throughput.sh --with-peers    # also the aiogram 3 peer (../shared/peers/aiogram,
#                                               # installed into target/bench-venv on first use)
#   scripts/bench-throughput.sh --callbacks -u 1000 --with-peers
#                                               # the aiogram README's reference shape: half
#                                               # the updates are button presses (answered,
#                                               # then one sendMessage), from 1,000 chats
#   scripts/bench-throughput.sh --redis         # the host on its default state store vs the
#                                               # same host on Redis (a redis-server it starts)
#   scripts/bench-throughput.sh --perf DIR      # then one extra batch per bot under
#                                               # `perf record`: DIR/bare.data, DIR/host.data
#                                               # (not in the table; perf slows the bot)
#
# Options: -n RUNS (5), -b BATCH (20000), -u USERS (100), -w WARMUP (2000).
# The bots' logs go to /dev/null. Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
prog=bench-throughput.sh

runs=5 batch=20000 users=100 warmup=2000 build=1 perf_out="" base=bare cand=host peers=0 push_callbacks=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) runs="$2"; shift 2 ;;
    -b) batch="$2"; shift 2 ;;
    -u) users="$2"; shift 2 ;;
    -w) warmup="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --perf) perf_out="$2"; shift 2 ;;
    --redis) base=host cand=redis; shift ;;
    --with-peers) peers=1; shift ;;
    --callbacks) push_callbacks=1; shift ;;
    -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$prog: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

source scripts/lib/bench.sh
[[ $build == 1 ]] && bench_build
bench_bins
bots=("$base" "$cand")
if [[ $peers == 1 ]]; then
  setup_aiogram
  bots+=(aiogram)
fi

hz="$(getconf CLK_TCK)"
work="$(mktemp -d)"
redis_pid="" redis_url=""
trap 'bench_stop; [[ -n $redis_pid ]] && kill "$redis_pid" 2>/dev/null; rm -rf "$work"' EXIT
if [[ $cand == redis ]]; then
  command -v redis-server >/dev/null || bench_die "--redis needs redis-server (apt-get install redis-server)"
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >/dev/null &
  redis_pid=$!
  redis_url="redis://127.0.0.1:$redis_port/"
  sleep 0.3
fi

bot_env() {
  [[ $1 == redis ]] && echo VOX__STATE__BACKEND=redis VOX__REDIS__URL="$redis_url"
  return 0
}

# One round for one bot: appends "bot ups cpu_ms_per_1k fake_cpu_ms_per_1k hwm_kb others_pct load round"
# to results; others_pct is the CPU that neither the bot nor the fake used during the
# batch, in % of the machine: other builds, this script's curl, the kernel's own threads.
measure() {
  local which=$1
  start_fake
  # shellcheck disable=SC2046
  start_bot "$which" $(bot_env "$which")
  push_and_wait "$warmup" "$warmup"
  local c0 f0 m0 t0 c1 f1 m1 t1
  c0=$(cpu_ticks "$bot_pid") f0=$(cpu_ticks "$fake_pid") m0=$(machine_ticks) t0=$(now_ns)
  push_and_wait "$batch" $((warmup + batch))
  t1=$(now_ns) c1=$(cpu_ticks "$bot_pid") f1=$(cpu_ticks "$fake_pid") m1=$(machine_ticks)
  local hwm counts
  hwm=$(hwm_kb "$bot_pid")
  counts=$(api "$control/counts")
  bench_stop
  local sent
  sent=$(sed -n 's/.*"sendMessage":{"calls":\([0-9]*\).*/\1/p' <<<"$counts")
  if [[ $sent != $((warmup + batch)) ]]; then
    bench_die "$which made $sent sendMessage calls for $((warmup + batch)) updates"
  fi
  if [[ $push_callbacks == 1 ]]; then
    local answered presses=$((warmup / 2 + batch / 2))
    answered=$(sed -n 's/.*"answerCallbackQuery":{"calls":[0-9]*,"ok":\([0-9]*\).*/\1/p' <<<"$counts")
    [[ $answered == "$presses" ]] || bench_die "$which answered ${answered:-no} callback queries of $presses"
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
shape="/echo"
[[ $push_callbacks == 1 ]] && shape="updates (half /echo, half echo:1 button presses)"
echo "batches of $batch $shape from $users users, $warmup warm-up; $runs rounds; $(nproc) CPUs"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
echo "bot updates/s bot_cpu_ms_per_1k fake_cpu_ms_per_1k bot_peak_rss_kb others_cpu_% load1 round"
for round in $(seq "$runs"); do
  # Each bot goes first, second, ... in turn: none always meets the warmest machine.
  order=()
  for i in "${!bots[@]}"; do order+=("${bots[$(( (i + round - 1) % ${#bots[@]} ))]}"); done
  for which in "${order[@]}"; do
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
for which in "${bots[@]}"; do
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
# seconds; the bots of a round ran back to back, so their ratio is steadier.
# paired COLUMN NUMERATOR DENOMINATOR: the median of the per-round ratios.
paired() {
  awk -v k="$1" -v c="$2" -v b="$3" '{ v[$8, $1] = $k } END { for (r = 1; (r, b) in v; r++) print v[r, c] / v[r, b] }' \
    "$work/results" | median
}
printf '%-29s %9.0f%% %21.0f%%\n' "$cand/$base, median per round" "$(paired 2 "$cand" "$base" | awk '{ print 100 * $1 }')" \
  "$(paired 3 "$cand" "$base" | awk '{ print 100 * $1 }')"
if [[ $peers == 1 ]]; then
  printf '%-29s %9.1fx %20.3fx %28.3fx\n' "$cand/aiogram, median per round" "$(paired 2 "$cand" aiogram)" \
    "$(paired 3 "$cand" aiogram)" "$(paired 5 "$cand" aiogram)"
  echo "  (updates/s, CPU per update, peak RSS: expected >= 15x, <= 0.1x, <= 0.1x)"
fi

if [[ -n $perf_out ]]; then
  mkdir -p "$perf_out"
  for which in "$base" "$cand"; do
    start_fake
    # shellcheck disable=SC2046
    start_bot "$which" $(bot_env "$which")
    push_and_wait "$warmup" "$warmup"
    perf record -q -F 999 -e cpu-clock -g -p "$bot_pid" -o "$perf_out/$which.data" 2>/dev/null &
    perf_pid=$!
    sleep 0.5
    push_and_wait "$batch" $((warmup + batch))
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    bench_stop
  done
  echo "profiles of one batch each: $perf_out/{bare,host}.data"
  echo "  perf report -i $perf_out/host.data --no-children --stdio --sort sym -g none"
fi
