#!/usr/bin/env bash
# Canary rollout of a versioned plugin (my_reports by default) — a thin wrapper:
# the vox-host binary edits the config file atomically, keeping its comments,
# refuses a change that would make the config invalid, and waits until the
# running host confirms it applied the change.
#
#   scripts/rollout.sh status
#   scripts/rollout.sh set <percent>          # 0..100, fractions allowed
#   scripts/rollout.sh allow <user_id>        # always gets the candidate
#   scripts/rollout.sh deny <user_id>         # never gets it
#   scripts/rollout.sh enable <version>       # versions.<v> = true
#   scripts/rollout.sh disable <version>      # versions.<v> = false
#   scripts/rollout.sh unkill                 # clear the kill switch
#   scripts/rollout.sh clear-override         # clear an automatic rollback
#
# Config: --config FILE or VOX_CONFIG. Plugin: VOX_PLUGIN (default my_reports).
# Binary: VOX_HOST_BIN, else target/release/vox-host, else target/debug/vox-host, else vox-host on PATH.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib/vox-host-bin.sh"

[[ $# -ge 1 ]] || { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
cmd="$1"; shift
case "$cmd" in
  status) exec "$VOX_HOST_BIN" "${config_args[@]}" rollout status "$@" ;;
  set|allow|deny|enable|disable|unkill|clear-override)
    exec "$VOX_HOST_BIN" "${config_args[@]}" rollout "$cmd" --plugin "${VOX_PLUGIN:-my_reports}" "$@" ;;
  *) echo "unknown command: $cmd (status | set | allow | deny | enable | disable | unkill | clear-override)" >&2; exit 2 ;;
esac
