#!/usr/bin/env bash
# Instructions and allocations per update, vox-host against a bare teloxide
# 0.17 echo bot, counted by valgrind's callgrind: the same binaries and input
# give the same count whatever else the machine does, so this decides between
# designs where bench-throughput.sh's seconds are lost in the machine's drift.
#
# Each bot runs under callgrind against a fresh fake Bot API (not under
# valgrind); after WARMUP messages the counters are zeroed, BATCH `/echo`
# messages from USERS chats are served, and the counters are dumped. Every
# thread of the bot is counted. Allocations are the calls to malloc, calloc,
# realloc and the aligned allocators in the same window (Rust's allocator is
# the system's). Prints per-update figures for both and host/bare.
#
#   scripts/bench-instructions.sh                     # 2,000 updates per bot, release build
#   scripts/bench-instructions.sh -b 500 --max-ratio 0.75 --fast-build   # CI: fail (exit 1) above 0.75
#   scripts/bench-instructions.sh --keep DIR          # keep the callgrind files for callgrind_annotate
#
# Options: -b BATCH (2000), -u USERS (1), -w WARMUP (300), --no-build,
# --max-ratio R (host/bare instructions per update), --keep DIR,
# --fast-build: SQLite's C code built without optimisation, two minutes of
# CPU less on a fresh build; the counts are the same (an echo reads dialogues
# from memory, the store's file is written only when a step is set).
# --build-only: build and stop (CI builds in the background, counts later
# with --no-build). --callbacks: every second update is a button press
# (answered, then one sendMessage), as in bench-throughput.sh --callbacks.
# Environment: VOX_BENCH_LOG_LEVEL (the host's log.level, default info);
# VOX_CALLGRIND_ARGS, more callgrind options (--cache-sim=yes counts cache misses).
# Needs valgrind (apt-get install valgrind). Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
prog=bench-instructions.sh

batch=2000 users=1 warmup=300 build=1 max_ratio="" keep="" build_args=() build_only=0 push_callbacks=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -b) batch="$2"; shift 2 ;;
    -u) users="$2"; shift 2 ;;
    -w) warmup="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --max-ratio) max_ratio="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --build-only) build_only=1; shift ;;
    --callbacks) push_callbacks=1; shift ;;
    --fast-build) build_args=(--config 'profile.release.package.libsqlite3-sys.opt-level=0'); shift ;;
    -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$prog: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
source scripts/lib/bench.sh
if [[ $build_only == 1 ]]; then
  bench_build "${build_args[@]}"
  exit 0
fi
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null \
  || { echo "$prog: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
[[ $build == 1 ]] && bench_build "${build_args[@]}"
bench_bins
work="$(mktemp -d)"
trap 'bench_stop; rm -rf "$work"' EXIT
# Under valgrind a bot starts and serves some 30-50 times slower.
bot_wait_secs=180 wait_secs=600

# Sums one callgrind dump: "instructions allocations".
count() {
  python3 - "$1" <<'EOF'
import re, sys
allocators = {"malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign"}
names, target, instructions, allocations = {}, None, None, 0
# Names are compressed: "(7) malloc" the first time, "(7)" after.
name = re.compile(r"\((\d+)\)(?: (.*))?")
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if line.startswith(("fn=", "cfn=")):
        m = name.match(line.split("=", 1)[1].strip())
        if m:
            if m.group(2):
                names[m.group(1)] = m.group(2)
            if line.startswith("cfn="):
                target = names.get(m.group(1))
    elif line.startswith("calls="):
        if target in allocators:
            allocations += int(line[6:].split()[0])
    elif line.startswith(("summary:", "totals:")):
        instructions = int(line.split()[1])
print(instructions, allocations)
EOF
}

measure() {
  local which=$1 out="$work/$1.callgrind"
  start_fake
  bot_wrap=(valgrind --tool=callgrind -q ${VOX_CALLGRIND_ARGS:-} --callgrind-out-file="$out")
  bot_log="$work/$which.log"
  start_bot "$which"
  push_and_wait "$warmup" "$warmup"
  callgrind_control -z "$bot_pid" >/dev/null 2>&1
  push_and_wait "$batch" $((warmup + batch))
  callgrind_control --dump=batch "$bot_pid" >/dev/null 2>&1
  bench_stop
  local dump
  dump=$(ls "$out".* 2>/dev/null | head -n 1)
  [[ -n $dump ]] || bench_die "callgrind wrote no dump for $which (its log: $(tail -n 3 "$bot_log"))"
  read -r instr allocs < <(count "$dump")
  [[ -n $keep ]] && { mkdir -p "$keep"; cp "$dump" "$keep/$which.callgrind"; }
  awk -v w="$which" -v i="$instr" -v a="$allocs" -v n="$batch" \
    'BEGIN { printf "%-6s %14.0f %16.1f\n", w, i / n, a / n }' | tee -a "$work/results"
}

echo "$batch /echo from $users users after $warmup warm-up, each bot under callgrind"
printf '%-6s %14s %16s\n' bot instructions/upd allocations/upd
measure bare
measure host
awk -v max="$max_ratio" '
  { i[$1] = $2; a[$1] = $3 }
  END {
    ratio = i["host"] / i["bare"]
    printf "host/bare instructions per update: %.3f; allocations per update: host %.1f, bare %.1f (+%.1f)\n",
      ratio, a["host"], a["bare"], a["host"] - a["bare"]
    if (max != "" && ratio > max) {
      printf "FAIL: host/bare %.3f is above %s\n", ratio, max
      exit 1
    }
  }' "$work/results"
[[ -n $keep ]] && echo "callgrind files: $keep/{bare,host}.callgrind (callgrind_annotate --inclusive=yes FILE)"
exit 0
