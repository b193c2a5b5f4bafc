#!/usr/bin/env bash
# Restores the data directory (and, with --with-config, the config file) from a
# backup that scripts/deploy.sh made, then starts the host and waits for health.
# Nothing is deleted: the current data is moved aside first.
#
#   scripts/restore.sh <backup dir> [--prefix DIR] [--data DIR] [--config FILE]
#                      [--with-config] [--health-url URL] [--timeout SECS]
#
#   <backup dir>  e.g. /opt/vox-host/backups/20250101T120000Z (deploy prints it)
#   --prefix      default $VOX_PREFIX or /opt/vox-host
#   --data        where to restore; default $VOX_DATA_DIR, else the host's own
#                 (VOX__HOST__DATA_DIR, [host] data_dir, "data"; relative = inside PREFIX)
#   --config      default $VOX_CONFIG, else the config the host last ran with,
#                 else /etc/vox-host/vox-host.toml
#   --with-config also put the backup's config in place (the current one is kept
#                 as <config>.before-restore-<UTC time>)
#   --health-url  default $VOX_HEALTH_URL or http://127.0.0.1:9090/healthz
#   --timeout     seconds to wait for HTTP 200 (default 30)
#
# Steps: verify SHA256SUMS (a mismatch refuses, touching nothing); stop the host;
# move what <data> holds to <data>.before-restore-<UTC time>; extract
# data.tar.gz into the emptied <data>; the same for each plugin's own data the
# backup holds (a reports directory outside <data>) and the rollback override
# file, at the paths they were backed up from; start the host (systemctl start $VOX_SERVICE, or the pidfile)
# and wait for health. Exit 0: restored and healthy; 1: refused or not healthy.
set -euo pipefail
prog=restore
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib/release.sh"

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

backup="" config="" prefix="" data="" health_url="" timeout=30 with_config=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --config|--prefix|--data|--health-url|--timeout) parse_common_option "$@"; shift 2 ;;
    --with-config) with_config=true; shift ;;
    -h|--help) usage ;;
    -*) die 2 "unknown option: $1 (see scripts/restore.sh --help)" ;;
    *) [[ -z "$backup" ]] || die 2 "one backup at a time (got '$backup' and '$1')"
       backup="$1"; shift ;;
  esac
done
[[ -n "$backup" ]] || usage
[[ -d "$backup" ]] || die 2 "backup $backup is not a directory; list them with: ls ${VOX_PREFIX:-/opt/vox-host}/backups"
backup="$(cd "$backup" && pwd)"
load_env_file
release_defaults
resolve_config
resolve_data_dir

# 1. Verify before touching anything.
[[ -f "$backup/SHA256SUMS" ]] || die 1 "refused: $backup has no SHA256SUMS; nothing was changed"
grep -q ' [ *]data.tar.gz$' "$backup/SHA256SUMS" ||
  die 1 "refused: $backup/SHA256SUMS does not cover data.tar.gz; nothing was changed"
if ! (cd "$backup" && sha256sum --check --strict --quiet SHA256SUMS) >&2; then
  die 1 "refused: $backup does not match its SHA256SUMS (damaged or edited); nothing was changed — pick another backup"
fi
tar -tzf "$backup/data.tar.gz" >/dev/null || die 1 "refused: $backup/data.tar.gz is not a readable archive; nothing was changed"
if $with_config; then
  [[ -f "$backup/config.toml" ]] || die 1 "refused: $backup has no config.toml to restore; nothing was changed"
fi
say "backup $backup verified (SHA256SUMS OK)"
if [[ -f "$backup/backup.info" ]]; then
  backed_up_from="$(sed -n 's/^data_dir=//p' "$backup/backup.info")"
  if [[ -n "$backed_up_from" && "$backed_up_from" != "$data" ]]; then
    warn "note: this backup was taken of $backed_up_from; restoring it into $data"
  fi
fi
take_lock

# 2. Stop, move the current data aside, extract. The entries move, not the
# directory itself: it keeps its owner and mode and may be a mount point.
started="$(now_ms)"
stamp="$(utc_stamp)"
host_stop
parent="$(dirname "$data")"
aside=""
mkdir -p "$data"
if [[ -n "$(find "$data/" -mindepth 1 -maxdepth 1 -print -quit)" ]]; then
  aside="$parent/$(unique_name "$parent" "$(basename "$data").before-restore-$stamp")"
  mkdir "$aside"
  chmod --reference="$data" "$aside" 2>/dev/null || true
  move_entries "$data" "$aside"
  say "moved the current data aside: $aside"
fi
if ! tar -C "$data" -xzf "$backup/data.tar.gz"; then
  failed="$parent/$(unique_name "$parent" "$(basename "$data").failed-restore-$stamp")"
  mkdir "$failed"
  move_entries "$data" "$failed"
  if [[ -n "$aside" ]]; then move_entries "$aside" "$data" && rmdir "$aside"; fi
  warn "extracting $backup/data.tar.gz failed: the data dir is back as it was (the partial extract is in $failed)"
  host_start
  exit 1
fi
say "restored $data from $backup/data.tar.gz"

# Each plugin's own data (a reports directory outside the data dir) and the
# rollback override file, where the backup found them; what was there is kept
# beside, as with the data dir.
if [[ -s "$backup/extras" ]]; then
  while IFS=$'\t' read -r archive kind path; do
    [[ -n "$path" ]] || continue
    kept=""
    case "$archive" in
      *.tar.gz)
        mkdir -p "$path"
        if [[ -n "$(find "$path/" -mindepth 1 -maxdepth 1 -print -quit)" ]]; then
          kept="$(dirname "$path")/$(unique_name "$(dirname "$path")" "$(basename "$path").before-restore-$stamp")"
          mkdir "$kept"
          move_entries "$path" "$kept"
          say "moved the current $kind aside: $kept"
        fi
        tar -C "$path" -xzf "$backup/$archive" || die 1 "extracting $backup/$archive into $path failed (what was there is in ${kept:-nothing}); the host is stopped"
        ;;
      *.file)
        if [[ -e "$path" ]]; then cp -p "$path" "$path.before-restore-$stamp"; fi
        cp -p "$backup/$archive" "$path.restore-tmp"
        mv -f "$path.restore-tmp" "$path"
        ;;
      *) warn "unknown entry $archive in $backup/extras; skipped"; continue ;;
    esac
    say "restored $kind: $path"
  done <"$backup/extras"
fi

if $with_config; then
  if [[ -e "$config" ]]; then
    kept="$config.before-restore-$stamp"
    cp -p "$config" "$kept"
    say "kept the current config as $kept"
  fi
  cp -p "$backup/config.toml" "$config.restore-tmp"
  mv -f "$config.restore-tmp" "$config"
  say "restored $config from $backup/config.toml"
fi

# 3. Start and wait for health.
if [[ -z "${VOX_SERVICE:-}" && -z "$(link_target current)" ]]; then
  say "restored; no release is deployed under $prefix, so no host was started (deploy one with scripts/deploy.sh)"
  exit 0
fi
restart_and_wait start
report_health "last answer from $health_url"
if [[ $health -eq 0 ]]; then
  say "OK: data restored from $backup and the host is healthy ($(fmt_ms $(($(now_ms) - started))) in all)${aside:+; the replaced data is kept in $aside}"
  exit 0
fi
echo "restore FAILED: the data is restored but the host is not healthy within ${timeout}s at $health_url; the replaced data is in ${aside:-(none)}; check the log above"
exit 1
