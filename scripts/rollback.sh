#!/usr/bin/env bash
# Instant rollback of a canary: turns the kill switch on (everyone gets the
# stable version at once) and prints when the running host confirmed it.
#
#   scripts/rollback.sh [--config FILE] [--timeout SECS]
#
# Plugin: VOX_PLUGIN (default my_reports). Undo with: scripts/rollout.sh unkill
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib/vox-host-bin.sh"
timeout=10
if [[ "${1:-}" == "--timeout" ]]; then timeout="$2"; shift 2; fi
exec "$VOX_HOST_BIN" "${config_args[@]}" rollout kill --plugin "${VOX_PLUGIN:-my_reports}" --wait "$timeout"
