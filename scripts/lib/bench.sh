# Sourced by the end-to-end bench scripts (bench-throughput.sh,
# bench-instructions.sh, bench-memory.sh): the binaries, the fake Bot API in a
# process of its own driven over its /_control/ routes, and one bot at a time
# started against it — the bare teloxide echo bot, vox-host serving the same
# echo, or the aiogram peer.
#
# The caller sets `prog` (its name in messages) and `work` (a scratch
# directory it removes), and calls bench_stop in its EXIT trap.
#
#   bench_build [CARGO ARGS]     release build of the fake and both echo bots
#   bench_bins                   sets fake_bin, bare_bin, host_bin (honours CARGO_TARGET_DIR),
#                                and run_bin: `vox-host` itself, if built
#   start_fake                   a fresh fake: sets fake_pid, fake_url, fake_token, control
#   start_bot WHICH [VAR=V...]   bare | host | redis | aiogram | run (`vox-host run`), extra
#                                environment after it; prefixed by the array bot_wrap (valgrind, say) when set.
#                                Sets bot_pid, returns once the bot polled; its stderr
#                                goes to $bot_log (/dev/null unless the caller sets it)
#   push_and_wait N TOTAL        queues N /echo from $users chats, waits for TOTAL sendMessage;
#                                with push_callbacks=1, every second update is a press of an
#                                `echo:1` button instead (answered, then one sendMessage)
#   bench_stop                   stops the bot and the fake this script started

bench_die() { echo "$prog: $*" >&2; exit 1; }

bench_build() {
  cargo build --locked --release "$@" -p vox-fake-bot-api --bin vox-fake-bot-api \
    -p vox-bench-bots --bin bare_echo_bot --bin host_echo_bot
}

bench_bins() {
  target_dir="${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')}"
  fake_bin="$target_dir/release/vox-fake-bot-api"
  bare_bin="$target_dir/release/bare_echo_bot"
  host_bin="$target_dir/release/host_echo_bot"
  run_bin="$target_dir/release/vox-host"
  local bin
  for bin in "$fake_bin" "$bare_bin" "$host_bin"; do
    [[ -x $bin ]] || bench_die "$bin is missing (build first)"
  done
}

fake_pid="" bot_pid="" bot_wrap=() aiogram_python=""
# The bot's stderr (its JSON log at info): a sink, as journald would be, unless the caller keeps it.
bot_log=/dev/null
bot_wait_secs=20

bench_stop() {
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

# utime + stime of a whole process (every thread), in clock ticks. The command
# name in field 2 is parenthesised; what follows ") " starts at field 3.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
now_ns() { date +%s%N; }
# Busy ticks of the whole machine (all CPUs), for what else ran during a batch.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
api() { curl -sS -f --max-time 600 "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_fake() {
  "$fake_bin" --port 0 >"$work/fake.out" 2>"$work/fake.err" &
  fake_pid=$!
  local i
  for i in $(seq 100); do
    [[ -s $work/fake.out ]] && break
    sleep 0.05
  done
  read -r fake_url fake_token <"$work/fake.out" || bench_die "the fake did not start: $(cat "$work/fake.err")"
  control="${fake_url%/}/_control"
}

start_bot() {
  local which=$1 data="$work/data-$1"
  shift
  rm -rf "$data"
  mkdir -p "$data"
  local cmd=()
  case $which in
    bare) cmd=("$bare_bin") ;;
    host | redis) cmd=("$host_bin") ;;
    run) cmd=("$run_bin" run) ;;
    aiogram) cmd=("$aiogram_python" "$aiogram_bot") ;;
    *) bench_die "unknown bot $which" ;;
  esac
  # Ops endpoints on (a free port), as in production: /metrics is updated per update.
  # The flood-limit throttle off: the bare teloxide bot does not throttle either,
  # and 100 chats at Telegram's pace would measure Telegram's limits, not the bots.
  VOX__TELEGRAM__THROTTLE=false \
  VOX__TELEGRAM__TOKEN="$fake_token" VOX__TELEGRAM__API_URL="$fake_url" \
    BENCH_TOKEN="$fake_token" BENCH_API_URL="${fake_url%/}" \
    VOX__TELEGRAM__POLL_TIMEOUT_SECS=1 VOX__HOST__DATA_DIR="$data" \
    VOX__OPS__LISTEN=127.0.0.1:0 VOX__LOG__FORMAT=json VOX__LOG__LEVEL="${VOX_BENCH_LOG_LEVEL:-info}" \
    env "$@" "${bot_wrap[@]}" "${cmd[@]}" >/dev/null 2>"$bot_log" &
  bot_pid=$!
  api "$control/wait?method=getUpdates&ok=1&timeout_secs=$bot_wait_secs" >/dev/null \
    || bench_die "$which did not poll within ${bot_wait_secs}s (its stderr: $bot_log)"
}

# Queues $1 messages and waits until sendMessage has $2 ok answers in all.
push_and_wait() {
  local extra=""
  [[ ${push_callbacks:-0} == 1 ]] && extra="&callback_data=echo:1"
  api -X POST "$control/push_text?users=$users&count=$1&text=/echo$extra" >/dev/null
  api "$control/wait?method=sendMessage&ok=$2&timeout_secs=${wait_secs:-120}" >/dev/null
}

# The aiogram peer (../shared/peers/aiogram) in a venv of its own under
# $VOX_BENCH_VENV (default target/bench-venv), installed on first use.
setup_aiogram() {
  aiogram_bot="${VOX_AIOGRAM_BOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/shared/peers/aiogram/bot.py}"
  [[ -f $aiogram_bot ]] || bench_die "the aiogram peer is not at $aiogram_bot (set VOX_AIOGRAM_BOT)"
  local venv="${VOX_BENCH_VENV:-$target_dir/bench-venv}"
  if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import aiogram' 2>/dev/null; then
    echo "installing aiogram 3 into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'aiogram>=3,<4' uvloop || bench_die "pip could not install aiogram into $venv"
  fi
  aiogram_python="$venv/bin/python"
  echo "aiogram peer: $("$aiogram_python" -c 'import aiogram, sys; print("aiogram", aiogram.__version__, "python", sys.version.split()[0])')"
}
