# Sourced by deploy.sh, restore.sh and rollback.sh --release: the release layout
# under PREFIX and how the host is stopped, started and checked for health.
#
#   PREFIX/releases/<UTC time>-<sha256:12>/vox-host  one directory per deployed binary, never overwritten
#   PREFIX/current, PREFIX/previous                  relative symlinks to release directories
#   PREFIX/backups/<UTC time>/                       data.tar.gz, config.toml, backup.info, SHA256SUMS
#   PREFIX/run/vox-host.pid, PREFIX/log/vox-host.log pidfile mode (VOX_SERVICE unset);
#                                                    vox-host.pid.start: its start time
#   PREFIX/run/vox-host.config                       the config the host was last started with
#   PREFIX/run/release.lock                          one deploy/rollback/restore at a time
#
# Environment:
#   VOX_PREFIX        PREFIX (default /opt/vox-host)
#   VOX_SERVICE       a systemd unit: start/stop/restart with systemctl instead of the pidfile
#   VOX_ENV_FILE      sourced with `set -a` before anything else (the token etc. for the host)
#   VOX_CONFIG        the config file (default: the last one started with, else /etc/vox-host/vox-host.toml)
#   VOX_DATA_DIR      the data directory to back up / restore
#   VOX_HEALTH_URL    default http://<VOX__OPS__LISTEN>/healthz, else http://127.0.0.1:9090/healthz
#   VOX_STOP_TIMEOUT  seconds between SIGTERM and SIGKILL in pidfile mode (default 20)
#
# The caller sets `prog` (the name used in messages) before sourcing.

say() { printf '%s: %s\n' "$prog" "$*"; }
warn() { printf '%s: %s\n' "$prog" "$*" >&2; }
# die CODE MESSAGE...
die() {
  local code="$1"; shift
  printf '%s: %s\n' "$prog" "$*" >&2
  exit "$code"
}

utc_stamp() { date -u +%Y%m%dT%H%M%SZ; }

# Milliseconds since the epoch (bash 5's EPOCHREALTIME, else whole seconds).
now_ms() {
  if [[ -n "${EPOCHREALTIME:-}" ]]; then
    local s="${EPOCHREALTIME%[.,]*}" f="${EPOCHREALTIME#*[.,]}"
    echo $((10#$s * 1000 + 10#${f:0:3}))
  else
    echo $(($(date +%s) * 1000))
  fi
}

# "1.234s" for a number of milliseconds.
fmt_ms() { printf '%d.%03ds' $(($1 / 1000)) $(($1 % 1000)); }

# An absolute path without resolving symlinks.
abs_path() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "${1#./}" ;;
  esac
}

# A name under DIR that does not exist yet: BASE, else BASE-2, BASE-3, ...
unique_name() {
  local dir="$1" base="$2" name="$2" n=2
  while [[ -e "$dir/$name" || -e "$dir/.tmp-$name" ]]; do
    name="$base-$n"; n=$((n + 1))
  done
  printf '%s\n' "$name"
}

# parse_common_option OPTION [VALUE...]: sets the variable of an option that
# deploy, restore and rollback --release all take (call it with "$@" and shift
# 2 after). Each script's case statement still names the ones it accepts, so
# an option a script does not take stays an unknown one there.
parse_common_option() {
  [[ $# -ge 2 ]] || die 2 "$1 needs a value"
  case "$1" in
    --config) config="$2" ;;
    --prefix) prefix="$2" ;;
    --data) data="$2" ;;
    --health-url) health_url="$2" ;;
    --timeout) timeout="$2" ;;
  esac
}

# Defaults shared by the scripts; call after parsing arguments and load_env_file.
release_defaults() {
  prefix="$(abs_path "${prefix:-${VOX_PREFIX:-/opt/vox-host}}")"
  if [[ -z "$health_url" ]]; then
    health_url="${VOX_HEALTH_URL:-}"
  fi
  if [[ -z "$health_url" && -n "${VOX__OPS__LISTEN:-}" ]]; then
    # Where the host listens, as a client reaches it.
    local listen="${VOX__OPS__LISTEN/#0.0.0.0:/127.0.0.1:}"
    health_url="http://${listen/#\[::\]:/[::1]:}/healthz"
  fi
  health_url="${health_url:-http://127.0.0.1:9090/healthz}"
  pidfile="$prefix/run/vox-host.pid"
  logfile="$prefix/log/vox-host.log"
  stop_timeout="${VOX_STOP_TIMEOUT:-20}"
  [[ "$timeout" =~ ^[0-9]+$ ]] || die 2 "--timeout must be whole seconds, got '$timeout'"
  [[ "$stop_timeout" =~ ^[0-9]+$ ]] || die 2 "VOX_STOP_TIMEOUT must be whole seconds, got '$stop_timeout'"
  command -v curl >/dev/null || die 2 "curl is needed for the health check; install it"
}

# Sources VOX_ENV_FILE (every assignment exported), so the host started from
# here gets the token etc. and the data directory is resolved as the host does.
load_env_file() {
  [[ -n "${VOX_ENV_FILE:-}" ]] || return 0
  [[ -r "$VOX_ENV_FILE" ]] || die 2 "VOX_ENV_FILE=$VOX_ENV_FILE is not a readable file"
  set -a
  # shellcheck source=/dev/null
  source "$VOX_ENV_FILE"
  set +a
}

# Holds PREFIX/run/release.lock on fd 9 until the script exits (fd 9 is closed
# for the host, which must not inherit it).
take_lock() {
  mkdir -p "$prefix/run"
  command -v flock >/dev/null || return 0
  exec 9>"$prefix/run/release.lock"
  flock -n 9 || die 2 "another deploy, rollback or restore holds $prefix/run/release.lock; wait for it to finish"
}

# The config file: --config, VOX_CONFIG, the one the host was last started
# with, /etc/vox-host/vox-host.toml. Sets `config` to an absolute path.
resolve_config() {
  if [[ -z "${config:-}" ]]; then
    config="${VOX_CONFIG:-}"
    if [[ -z "$config" && -s "$prefix/run/vox-host.config" ]]; then
      config="$(<"$prefix/run/vox-host.config")"
    fi
    config="${config:-/etc/vox-host/vox-host.toml}"
  fi
  config="$(abs_path "$config")"
}

# `[host] data_dir` of a TOML file, if set there as a plain string.
config_data_dir() {
  [[ -r "$1" ]] || return 0
  local v
  v="$(awk '
    /^[[:space:]]*\[/ { section = $0; gsub(/[[:space:]]/, "", section); next }
    section == "[host]" && /^[[:space:]]*data_dir[[:space:]]*=/ { sub(/^[^=]*=[[:space:]]*/, ""); print; exit }
  ' "$1")"
  case "$v" in
    \"*) v="${v#\"}"; printf '%s\n' "${v%%\"*}" ;;
    \'*) v="${v#\'}"; printf '%s\n' "${v%%\'*}" ;;
  esac
}

# The data directory as the host resolves it: --data, VOX_DATA_DIR,
# VOX__HOST__DATA_DIR, `[host] data_dir` of the config, `data`; relative paths
# are inside PREFIX (the host's working directory). Sets `data`.
resolve_data_dir() {
  if [[ -z "${data:-}" ]]; then
    data="${VOX_DATA_DIR:-${VOX__HOST__DATA_DIR:-}}"
    [[ -n "$data" ]] || data="$(config_data_dir "$config")"
    data="${data:-data}"
    case "$data" in
      /*) ;;
      *) data="$prefix/${data#./}" ;;
    esac
  else
    data="$(abs_path "$data")"
  fi
  data="${data%/}"
}

# move_entries SRC DST: every entry of SRC (dotfiles too) into DST.
move_entries() {
  find "$1/" -mindepth 1 -maxdepth 1 -exec mv -t "$2" -- {} +
}

# The release a link points at, as `releases/NAME`, or nothing.
link_target() { readlink "$prefix/$1" 2>/dev/null || true; }

# The directory of a release as a link names it (relative to PREFIX or absolute).
release_dir() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$prefix" "$1" ;;
  esac
}

# set_link NAME TARGET: atomic replace (a temporary link renamed over it).
set_link() {
  local tmp="$prefix/.$1.tmp.$$"
  ln -sfn "$2" "$tmp"
  mv -T "$tmp" "$prefix/$1"
}

# A live process (not a zombie waiting to be reaped).
is_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  stat="${stat##*) }"
  [[ "${stat%% *}" != Z ]]
}

# The start time of a process (clock ticks since boot), empty without /proc.
proc_start() {
  local stat fields
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  read -ra fields <<<"${stat##*) }"
  printf '%s\n' "${fields[19]:-}"
}

# The pid of the host this machinery started, if it is still running (a pid
# reused by another process since does not count: its start time differs).
managed_pid() {
  [[ -s "$pidfile" ]] || return 1
  local pid recorded=""
  pid="$(<"$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  is_alive "$pid" || return 1
  if [[ -s "$pidfile.start" ]]; then recorded="$(<"$pidfile.start")"; fi
  if [[ -n "$recorded" && "$(proc_start "$pid")" != "$recorded" ]]; then
    return 1
  fi
  echo "$pid"
}

# service_ctl VERB: systemctl VERB on VOX_SERVICE. A failure is not fatal
# here: the health check that follows decides.
service_ctl() {
  say "systemctl $1 $VOX_SERVICE"
  systemctl "$1" "$VOX_SERVICE" || warn "systemctl $1 $VOX_SERVICE failed (exit $?); see: systemctl status $VOX_SERVICE"
}

# Stops the host: SIGTERM (it finishes the updates in flight), SIGKILL after
# VOX_STOP_TIMEOUT seconds.
host_stop() {
  if [[ -n "${VOX_SERVICE:-}" ]]; then
    service_ctl stop
    return
  fi
  local pid started
  if ! pid="$(managed_pid)"; then
    rm -f "$pidfile" "$pidfile.start"
    return 0
  fi
  started="$(now_ms)"
  say "stopping the host (pid $pid, SIGTERM; SIGKILL after ${stop_timeout}s)"
  # The host leads its own process group (setsid): signal the group, children too.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  while is_alive "$pid"; do
    if (($(now_ms) - started >= stop_timeout * 1000)); then
      warn "pid $pid still running after ${stop_timeout}s: SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
      break
    fi
    sleep 0.1
  done
  rm -f "$pidfile" "$pidfile.start"
  say "stopped after $(fmt_ms $(($(now_ms) - started)))"
}

# Starts PREFIX/current/vox-host in the background (pidfile mode) or the unit.
host_start() {
  if [[ -n "${VOX_SERVICE:-}" ]]; then
    service_ctl start
    return
  fi
  local release bin pid
  release="$(link_target current)"
  bin="$(release_dir "$release")/vox-host"
  [[ -n "$release" && -x "$bin" ]] || die 1 "no runnable $prefix/current/vox-host to start"
  [[ -f "$config" ]] || die 2 "config file $config not found"
  mkdir -p "$prefix/run" "$prefix/log"
  printf '%s\n' "$config" >"$prefix/run/vox-host.config"
  printf '\n=== %s %s: starting %s\n' "$(date -u +%FT%TZ)" "$prog" "$release" >>"$logfile"
  # Its own session (a closed terminal does not reach it), the working
  # directory PREFIX (a relative data_dir lives there), no lock fd.
  (cd "$prefix" && exec setsid "$bin" --config "$config" run </dev/null >>"$logfile" 2>&1 9>&-) &
  pid=$!
  proc_start "$pid" >"$pidfile.start"
  printf '%s\n' "$pid" >"$pidfile.tmp"
  mv -f "$pidfile.tmp" "$pidfile"
  say "started $release (pid $pid, log $logfile)"
}

host_restart() {
  if [[ -n "${VOX_SERVICE:-}" ]]; then
    service_ctl restart
  else
    host_stop
    host_start
  fi
}

# Something answers HTTP at the health URL.
health_answers() { curl -s -o /dev/null --max-time 2 "$health_url"; }

# wait_healthy SECS: polls the health URL until HTTP 200. Returns 0 when
# healthy (the body is in `health_body`), 1 after SECS (`last_answer` holds the
# last non-200 answer, if any), 3 when the process started in pidfile mode
# exited first (`exit_note` says so).
wait_healthy() {
  local secs="$1" started code pid=""
  started="$(now_ms)"
  health_body=""
  exit_note=""
  last_answer="nothing listens there"
  if [[ -z "${VOX_SERVICE:-}" && -s "$pidfile" ]]; then pid="$(<"$pidfile")"; fi
  while :; do
    code="$(curl -s -o "$prefix/run/health.body" -w '%{http_code}' --max-time 2 "$health_url" 2>/dev/null)" || true
    if [[ "$code" == 200 ]]; then
      health_body="$(cat "$prefix/run/health.body" 2>/dev/null || true)"
      health_ms=$(($(now_ms) - started))
      return 0
    fi
    if [[ "$code" =~ ^[1-9][0-9][0-9]$ ]]; then
      last_answer="HTTP $code $(head -c 300 "$prefix/run/health.body" 2>/dev/null || true)"
    fi
    if [[ -n "$pid" ]] && ! is_alive "$pid"; then
      exit_note="the process (pid $pid) exited after $(fmt_ms $(($(now_ms) - started)))"
      return 3
    fi
    (($(now_ms) - started < secs * 1000)) || return 1
    sleep 0.2
  done
}

# restart_and_wait restart|start: host_restart or host_start, then
# wait_healthy $timeout. Its status lands in `health` and this returns 0: were
# it the return code, callers would test it in an `if`, where errexit is off
# for everything inside, and a failing step of the (re)start must still stop
# the script.
restart_and_wait() {
  "host_$1"
  health=0
  wait_healthy "$timeout" || health=$?
}

# report_health [LABEL]: after restart_and_wait, what the health check found:
# the /healthz body when healthy; otherwise why not (LABEL: how the last
# answer is introduced, default "last answer") and what the host logged.
report_health() {
  if [[ $health -eq 0 ]]; then
    say "health: ${health_body:-HTTP 200}"
    return 0
  fi
  if [[ -n "$exit_note" ]]; then warn "$exit_note"; else warn "${1:-last answer}: $last_answer"; fi
  show_host_log
}

# The last lines the host wrote, to show why it failed.
show_host_log() {
  if [[ -n "${VOX_SERVICE:-}" ]]; then
    journalctl -u "$VOX_SERVICE" -n 20 --no-pager >&2 2>/dev/null || true
  elif [[ -f "$logfile" ]]; then
    warn "what it wrote to $logfile:"
    # From the last start marker on, at most 30 lines.
    awk '/^=== / { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$logfile" | tail -n 30 | sed 's/^/    /' >&2
  fi
}
