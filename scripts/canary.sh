#!/usr/bin/env bash
# Walks a canary through its steps (5 → 25 → 50 → 100 % by default), dwelling at
# each while the running host watches the rollback triggers; if a trigger fires
# (or someone kills the rollout) it turns the kill switch on and stops.
#
#   scripts/canary.sh [--config FILE] [--dwell SECS] [--steps "5 25 50 100"]
#
# Red triggers are the host's own (it rolls the candidate back; this script
# then turns the kill switch on). Yellow triggers are the plan's warnings —
# a list acted on past its time-to-live, two actions of one user at once: read
# from /metrics (VOX_METRICS_URL, default http://<VOX__OPS__LISTEN>/metrics or
# http://127.0.0.1:9090/metrics; the counters in VOX_YELLOW_METRICS), a rise
# holds the canary at its step (no further step, nothing rolled back) for an
# operator to look at.
#
# On a rollback the host's recent log, /healthz and /metrics are kept in
# VOX_EVIDENCE_DIR (default $VOX_PREFIX/backups, /opt/vox-host/backups) and the
# path printed.
#
# Plugin: VOX_PLUGIN (default my_reports). Exit 0: reached the last step healthy;
# 1: rolled back; 2: bad usage or a refused change; 4: no running host; 5: held
# at a step by a yellow trigger. Options come in any order.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dwell=600
steps="5 25 50 100"
config=""
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || { echo "$1 needs a value" >&2; exit 2; }
  case "$1" in
    --dwell) dwell="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
if [[ -n "$config" ]]; then set -- --config "$config"; else set --; fi
source "$root/scripts/lib/vox-host-bin.sh"
listen="${VOX__OPS__LISTEN:-127.0.0.1:9090}"
metrics_url="${VOX_METRICS_URL:-http://${listen/#0.0.0.0:/127.0.0.1:}/metrics}"
yellow_metrics="${VOX_YELLOW_METRICS:-my_reports_snapshot_timeout_violations_total my_reports_lock_overlaps_total}"

# The sum of each yellow counter now, "name=value" per line; nothing when /metrics does not answer.
yellow_now() {
  local page
  page="$(curl -s --max-time 3 "$metrics_url" 2>/dev/null)" || return 0
  for name in $yellow_metrics; do
    printf '%s=%s\n' "$name" "$(awk -v n="$name" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f", s }' <<<"$page")"
  done
}
plugin="${VOX_PLUGIN:-my_reports}"
vox() { "$VOX_HOST_BIN" "${config_args[@]}" "$@"; }

# The evidence of a rollback: the host's recent log (journald under
# VOX_SERVICE, else PREFIX/log/vox-host.log), its /healthz and /metrics, in
# VOX_EVIDENCE_DIR (default PREFIX/backups), as scripts/deploy.sh keeps it.
keep_evidence() {
  prog=canary
  prefix="${VOX_PREFIX:-/opt/vox-host}"
  logfile="$prefix/log/vox-host.log"
  health_url="${metrics_url%/metrics}/healthz"
  local dir="${VOX_EVIDENCE_DIR:-$prefix/backups}"
  source "$root/scripts/lib/release.sh"
  source "$root/scripts/lib/watch.sh"
  if mkdir -p "$dir" 2>/dev/null && [[ -w "$dir" ]]; then
    capture_evidence "$dir" "$1"
  else
    echo "canary: cannot write evidence to $dir (set VOX_EVIDENCE_DIR)" >&2
  fi
}

rollback() {
  echo "canary: $1 — rolling back"
  keep_evidence "canary rolled back: $1"
  vox rollout kill --plugin "$plugin" --wait 10 || true
  exit 1
}

# A rollout that is already rolled back or has no host to watch it does not start.
set +e; vox rollout check --plugin "$plugin"; code=$?; set -e
[[ $code -eq 4 ]] && { echo "canary: no running host: start it first" >&2; exit 4; }
[[ $code -eq 3 ]] && { echo "canary: already rolled back; clear it first (rollout.sh unkill / clear-override)" >&2; exit 1; }

yellow_start="$(yellow_now)"
[[ -n "$yellow_start" ]] || echo "canary: $metrics_url does not answer; yellow triggers are not checked" >&2

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
    if [[ -n "$yellow_start" ]]; then
      yellow="$(yellow_now)"
      if [[ -n "$yellow" && "$yellow" != "$yellow_start" ]]; then
        echo "canary: yellow trigger at ${percent}% ($(diff <(echo "$yellow_start") <(echo "$yellow") | sed -n 's/^> //p' | tr '\n' ' ')was: $(echo "$yellow_start" | tr '\n' ' ')) — holding the canary here; look at the log and docs/OPERATIONS.md#runbooks, then go on with scripts/canary.sh or roll back with scripts/rollback.sh"
        exit 5
      fi
    fi
    [[ $waited -ge $dwell ]] && break
    sleep 1
    waited=$((waited + 1))
  done
done
echo "canary: ${steps##* }% reached, healthy"
