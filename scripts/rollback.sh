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
#   Exit 0: healthy; 1: the release now current is not healthy; 2: refused.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

release_mode=false
for arg in "$@"; do
  if [[ "$arg" == --release ]]; then release_mode=true; fi
done

if ! $release_mode; then
  source "$root/scripts/lib/vox-host-bin.sh"
  timeout=10
  if [[ "${1:-}" == "--timeout" ]]; then timeout="$2"; shift 2; fi
  exec "$VOX_HOST_BIN" "${config_args[@]}" rollout kill --plugin "${VOX_PLUGIN:-my_reports}" --wait "$timeout"
fi

prog=rollback
source "$root/scripts/lib/release.sh"
config="" prefix="" health_url="" timeout=30
while [[ $# -gt 0 ]]; do
  case "$1" in
    --release) shift ;;
    --config|--prefix|--health-url|--timeout) parse_common_option "$@"; shift 2 ;;
    *) die 2 "unknown argument: $1 (scripts/rollback.sh --release [--prefix DIR] [--health-url URL] [--timeout SECS])" ;;
  esac
done
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
