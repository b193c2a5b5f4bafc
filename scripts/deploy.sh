#!/usr/bin/env bash
# Deploys a vox-host release binary beside the previous one, backs up the data
# and the config, restarts the host, waits for /healthz and then watches it; a
# release that is unhealthy or trips a red trigger in the watch window is rolled
# back to the previous one by itself, leaving the host's log as evidence.
#
#   scripts/deploy.sh <release-binary> [--config FILE] [--prefix DIR] [--data DIR]
#                     [--health-url URL] [--timeout SECS] [--watch SECS] [--keep N]
#
#   --config      default $VOX_CONFIG, else the config the host last ran with,
#                 else /etc/vox-host/vox-host.toml
#   --prefix      default $VOX_PREFIX or /opt/vox-host
#   --data        the data dir to back up; default $VOX_DATA_DIR, else the host's
#                 own (VOX__HOST__DATA_DIR, [host] data_dir, "data"; relative = inside PREFIX)
#   --health-url  default $VOX_HEALTH_URL or http://127.0.0.1:9090/healthz
#   --timeout     seconds to wait for HTTP 200 (default 30)
#   --watch       seconds to watch the healthy release (default $VOX_WATCH_SECS or 300,
#                 the plan's 5 minutes; 0: no watch): /healthz, an automatic rollback,
#                 handler failures and failures plugins report per handled update
#                 (thresholds: scripts/lib/watch.sh)
#   --keep        releases and backups to keep (default $VOX_KEEP or 5; current and
#                 previous are never removed; 0: keep all)
#
# Steps: `check-config` with the new binary on the config (a refused config
# stops here: no downtime); install PREFIX/releases/<UTC time>-<sha256:12>/vox-host;
# back up the data dir, the rollback override file, each plugin's own data
# (my-reports' reports directory, wherever it lives: `vox-host backup-paths`)
# and the config into PREFIX/backups/<UTC time>/ with SHA256SUMS;
# point `previous` at the old release and `current` at the new one; restart
# (`systemctl restart $VOX_SERVICE`, or the pidfile PREFIX/run/vox-host.pid with
# the log in PREFIX/log/vox-host.log); wait for health; watch; prune. On a
# rollback the host's recent log, /healthz and /metrics go to
# <backup>/evidence-<UTC time>.log (the path is printed). Host environment
# (token…): the caller's, plus VOX_ENV_FILE sourced with `set -a`.
#
# Exit 0: the new release is current, healthy and went through the watch. 1: it
# was not healthy or tripped a trigger, and the previous release serves again
# (or there was none). 2: refused, nothing changed.
set -euo pipefail
prog=deploy
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib/release.sh"
source "$root/scripts/lib/watch.sh"

usage() { sed -n '2,41p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

binary="" config="" prefix="" data="" health_url="" timeout=30
watch="${VOX_WATCH_SECS:-300}" keep="${VOX_KEEP:-5}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --config|--prefix|--data|--health-url|--timeout) parse_common_option "$@"; shift 2 ;;
    --watch|--keep)
      [[ $# -ge 2 ]] || die 2 "$1 needs a value"
      if [[ "$1" == --watch ]]; then watch="$2"; else keep="$2"; fi
      shift 2 ;;
    -h|--help) usage ;;
    -*) die 2 "unknown option: $1 (see scripts/deploy.sh --help)" ;;
    *) [[ -z "$binary" ]] || die 2 "one release binary at a time (got '$binary' and '$1')"
       binary="$1"; shift ;;
  esac
done
[[ -n "$binary" ]] || usage

# Refusals first: nothing is touched until the inputs are right.
[[ -e "$binary" ]] || die 2 "release binary $binary does not exist; build it (cargo build --release -p vox-bot) and pass its path"
[[ -f "$binary" && -x "$binary" ]] || die 2 "release binary $binary is not an executable file (chmod +x it?)"
binary="$(abs_path "$binary")"
load_env_file
release_defaults
resolve_config
[[ -f "$config" && -r "$config" ]] || die 2 "config file $config not found or unreadable; pass --config FILE (or set VOX_CONFIG)"
[[ "$watch" =~ ^[0-9]+$ ]] || die 2 "--watch must be whole seconds, got '$watch'"
[[ "$keep" =~ ^[0-9]+$ ]] || die 2 "--keep must be a whole number, got '$keep'"
watch_defaults
resolve_data_dir
# The new binary must take the config before anything stops: a refused config costs no downtime.
if ! checked="$("$binary" --config "$config" check-config 2>&1)"; then
  printf '%s\n' "$checked" | sed 's/^/    /' >&2
  die 2 "the new release refuses $config (see above); nothing was changed and the running host keeps serving"
fi
say "the new release accepts $config"
mkdir -p "$prefix/releases" "$prefix/backups" "$prefix/run" "$prefix/log"
take_lock

if [[ -z "${VOX_SERVICE:-}" ]] && ! managed_pid >/dev/null && health_answers; then
  die 2 "something not started by these scripts already answers $health_url; stop it (or set VOX_SERVICE to its systemd unit) and deploy again"
fi

started="$(now_ms)"
old_current="$(link_target current)"
old_previous="$(link_target previous)"
if [[ -n "$old_current" && ! -x "$(release_dir "$old_current")/vox-host" ]]; then
  warn "current points at $old_current, which has no runnable vox-host; deploying without a release to roll back to"
  old_current=""
fi

# 1. The new release, beside the others (a half-copied one never has its final name).
sha="$(sha256sum "$binary" | cut -d' ' -f1)"
name="$(unique_name "$prefix/releases" "$(utc_stamp)-${sha:0:12}")"
release="releases/$name"
mkdir "$prefix/releases/.tmp-$name"
cp "$binary" "$prefix/releases/.tmp-$name/vox-host"
chmod 0755 "$prefix/releases/.tmp-$name/vox-host"
[[ "$(sha256sum "$prefix/releases/.tmp-$name/vox-host" | cut -d' ' -f1)" == "$sha" ]] ||
  die 1 "the copy of $binary in $prefix/releases/.tmp-$name differs from it (disk full?); nothing was switched"
mv -T "$prefix/releases/.tmp-$name" "$prefix/$release"
say "installed $release (sha256 $sha)"

# 2. Backup of the data and the config, before anything switches.
backup="$prefix/backups/$(unique_name "$prefix/backups" "$(utc_stamp)")"
mkdir -p "$backup.partial"
if [[ -d "$data" ]]; then
  set +e
  tar -C "$data" -czf "$backup.partial/data.tar.gz" .
  code=$?
  set -e
  # GNU tar: 1 = a file changed while it was read (the host is running); the rest is there.
  case $code in
    0) ;;
    1) warn "some files in $data changed while they were archived; the backup holds the version tar read" ;;
    *) rm -rf "$backup.partial"; die 1 "could not archive $data (tar exit $code); nothing was switched" ;;
  esac
else
  warn "data dir $data does not exist yet; the backup holds an empty archive"
  tar -czf "$backup.partial/data.tar.gz" -T /dev/null
fi
cp -p "$config" "$backup.partial/config.toml"
backup_extras "$prefix/$release/vox-host" "$backup.partial"
{
  echo "created=$(date -u +%FT%TZ)"
  echo "data_dir=$data"
  echo "config=$config"
  echo "release_before=$old_current"
  echo "release_deployed=$release"
} >"$backup.partial/backup.info"
(cd "$backup.partial" && sha256sum data.tar.gz config.toml backup.info extras $(cut -f1 extras) >SHA256SUMS)
mv -T "$backup.partial" "$backup"
say "backup: $backup"

# 3. Switch and restart.
if [[ -n "$old_current" ]]; then set_link previous "$old_current"; fi
set_link current "$release"
say "current -> $release${old_current:+, previous -> $old_current}"
restart_and_wait restart

# 4. Health, then the watch window.
failure=""
if [[ $health -eq 0 ]]; then
  report_health
  say "$release is healthy ($(fmt_ms "$health_ms") after start)"
  if ((watch == 0)) || watch_release "$watch"; then
    prune_old "$keep"
    say "OK: $release is current and healthy ($(fmt_ms $(($(now_ms) - started))) in all)"
    [[ -z "$old_current" ]] || say "if it misbehaves later: scripts/rollback.sh --release --prefix $prefix (back to $old_current)"
    exit 0
  fi
  failure="tripped a red trigger in the watch window: $watch_reason"
  warn "$release $failure"
else
  failure="not healthy within ${timeout}s"
  warn "$release did not answer HTTP 200 at $health_url"
  report_health
fi
capture_evidence "$backup" "$release $failure"
host_stop
if [[ -z "$old_current" ]]; then
  rm -f "$prefix/current"
  if [[ -n "$old_previous" ]]; then set_link previous "$old_previous"; fi
  warn "there is no previous release to roll back to: the host is stopped and current is unset"
  echo "deploy FAILED: $binary $failure; nothing to roll back to (the release stays in $prefix/$release; fix it and deploy again)"
  exit 1
fi

set_link current "$old_current"
if [[ -n "$old_previous" ]]; then set_link previous "$old_previous"; else rm -f "$prefix/previous"; fi
restart_and_wait start
if [[ $health -eq 0 ]]; then
  echo "deploy FAILED: $binary $failure; rolled back to $old_current (healthy again after $(fmt_ms "$health_ms"))"
  say "the failed release stays in $prefix/$release; the backup of the data is $backup"
else
  report_health
  echo "deploy FAILED: $binary $failure; rolled back to $old_current, but it is NOT healthy either within ${timeout}s: check the log above and $health_url; the data backup is $backup (scripts/restore.sh)"
fi
exit 1
