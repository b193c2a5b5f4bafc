#!/usr/bin/env bash
# Walks a canary through its steps (5 → 25 → 50 → 100 % by default), dwelling at
# each while the running host watches the rollback triggers; if a trigger fires
# (or someone kills the rollout) it turns the kill switch on and stops.
#
#   scripts/canary.sh [--config FILE] [--dwell SECS] [--steps "5 25 50 100"]
#
# Plugin: VOX_PLUGIN (default my_reports). Exit 0: reached the last step healthy;
# 1: rolled back; 2: bad usage or a refused change; 4: no running host.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib/vox-host-bin.sh"
dwell=600
steps="5 25 50 100"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dwell) dwell="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
plugin="${VOX_PLUGIN:-my_reports}"
vox() { "$VOX_HOST_BIN" "${config_args[@]}" "$@"; }

rollback() {
  echo "canary: $1 — rolling back"
  vox rollout kill --plugin "$plugin" --wait 10 || true
  exit 1
}

# A rollout that is already rolled back or has no host to watch it does not start.
set +e; vox rollout check --plugin "$plugin"; code=$?; set -e
[[ $code -eq 4 ]] && { echo "canary: no running host: start it first" >&2; exit 4; }
[[ $code -eq 3 ]] && { echo "canary: already rolled back; clear it first (rollout.sh unkill / clear-override)" >&2; exit 1; }

for percent in $steps; do
  echo "canary: step ${percent}%"
  vox rollout set "$percent" --plugin "$plugin" --wait 10 || exit 2
  waited=0
  while :; do
    set +e; out="$(vox rollout check --plugin "$plugin")"; code=$?; set -e
    case $code in
      0) ;;
      3) rollback "trigger fired at ${percent}%: $out" ;;
      *) rollback "the running host stopped answering at ${percent}%" ;;
    esac
    [[ $waited -ge $dwell ]] && break
    sleep 1
    waited=$((waited + 1))
  done
done
echo "canary: ${steps##* }% reached, healthy"
