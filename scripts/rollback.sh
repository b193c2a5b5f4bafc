#!/usr/bin/env bash
# Two rollbacks:
#
# Canary (default): turns the kill switch on (everyone gets the stable version
# at once) and prints when the running host confirmed it.
#
#   scripts/rollback.sh [--config FILE] [--timeout SECS]
#
#   Plugin: VOX_PLUGIN (default my_reports). Undo with: scripts/rollout.sh unkill
#
# Release (--release): back to the binary deployed before the current one —
# swaps PREFIX/current and PREFIX/previous, restarts the host (systemctl restart
# $VOX_SERVICE, or the pidfile as scripts/deploy.sh does), waits for HTTP 200 and
# prints the release now serving and how long it took. Running it again swaps back.
#
#   scripts/rollback.sh --release [--prefix DIR] [--health-url URL] [--timeout SECS]
#                       [--config FILE]
#
#   --prefix default $VOX_PREFIX or /opt/vox-host; --health-url default
#   $VOX_HEALTH_URL or http://127.0.0.1:9090/healthz; --timeout default 30;
#   --config (pidfile mode) default $VOX_CONFIG, else the one the host last ran with.
#   The host's recent log, /healthz and /metrics are kept first in
#   PREFIX/backups/evidence-<UTC time>.log (the path is printed).
#   Exit 0: healthy; 1: the release now current is not healthy; 2: refused.
#
# Options come in any order.
set -euo pipefail
prog=rollback
root="$(cd "$(dirname "$0")/.." && pwd)"

release_mode=false config="" prefix="" health_url="" timeout=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --release) release_mode=true; shift ;;
    --config|--prefix|--health-url|--timeout)
      [[ $# -ge 2 ]] || { echo "$prog: $1 needs a value" >&2; exit 2; }
      case "$1" in
        --config) config="$2" ;;
        --prefix) prefix="$2" ;;
        --health-url) health_url="$2" ;;
        --timeout) timeout="$2" ;;
      esac
      shift 2 ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) echo "$prog: unknown argument: $1 (scripts/rollback.sh [--config FILE] [--timeout SECS], or --release [--prefix DIR] [--health-url URL] [--timeout SECS] [--config FILE])" >&2; exit 2 ;;
  esac
done

if ! $release_mode; then
  if [[ -n "$prefix" || -n "$health_url" ]]; then
    echo "$prog: --prefix and --health-url are for --release; the canary rollback takes --config and --timeout" >&2
    exit 2
  fi
  if [[ -n "$config" ]]; then set -- --config "$config"; else set --; fi
  source "$root/scripts/lib/vox-host-bin.sh"
  exec "$VOX_HOST_BIN" "${config_args[@]}" rollout kill --plugin "${VOX_PLUGIN:-my_reports}" --wait "${timeout:-10}"
fi

source "$root/scripts/lib/release.sh"
source "$root/scripts/lib/watch.sh"
timeout="${timeout:-30}"
load_env_file
release_defaults
resolve_config

current="$(link_target current)"
previous="$(link_target previous)"
[[ -n "$current" ]] || die 2 "no release is deployed under $prefix (no current link); nothing to roll back"
[[ -n "$previous" ]] || die 2 "$prefix has no previous release (only $current was deployed); nothing to roll back to"
[[ -x "$(release_dir "$previous")/vox-host" ]] || die 2 "previous points at $previous, which has no runnable vox-host; nothing was changed"
if [[ -z "${VOX_SERVICE:-}" ]]; then
  [[ -f "$config" ]] || die 2 "config file $config not found; pass --config FILE (or set VOX_CONFIG)"
fi
take_lock
watch_defaults
capture_evidence "$prefix/backups" "release rollback from $current to $previous"

started="$(now_ms)"
set_link current "$previous"
set_link previous "$current"
say "current -> $previous, previous -> $current"
restart_and_wait restart

report_health "last answer from $health_url"
if [[ $health -eq 0 ]]; then
  say "OK: $previous is serving (healthy $(fmt_ms "$health_ms") after start, $(fmt_ms $(($(now_ms) - started))) in all); $current is previous now"
  exit 0
fi
echo "rollback FAILED: $previous not healthy within ${timeout}s at $health_url; current still points at it (run scripts/rollback.sh --release again to go back to $current, or deploy a fixed binary)"
exit 1
