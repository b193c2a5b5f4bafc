# Sourced by deploy.sh (after release.sh): the watch window after a deploy,
# the evidence left on a rollback, what a backup holds beyond the data
# directory, and the pruning of old releases and backups.
#
# Environment (the watch's thresholds; the window itself is deploy's --watch):
#   VOX_METRICS_URL           default: the health URL with /healthz → /metrics
#   VOX_WATCH_EVERY           seconds between two looks (default 5)
#   VOX_WATCH_MAX_ERROR_RATE  failed handlers + failures plugins report, per
#                             handled update, above which the release is rolled
#                             back (default 0.05)
#   VOX_WATCH_MIN_UPDATES     updates the window must have seen before the rate
#                             counts (default 20)

watch_defaults() {
  metrics_url="${VOX_METRICS_URL:-${health_url%/healthz}/metrics}"
  watch_every="${VOX_WATCH_EVERY:-5}"
  max_error_rate="${VOX_WATCH_MAX_ERROR_RATE:-0.05}"
  min_updates="${VOX_WATCH_MIN_UPDATES:-20}"
  [[ "$watch_every" =~ ^[0-9]+([.][0-9]+)?$ ]] || die 2 "VOX_WATCH_EVERY must be seconds, got '$watch_every'"
  [[ "$max_error_rate" =~ ^[0-9]+([.][0-9]+)?$ ]] || die 2 "VOX_WATCH_MAX_ERROR_RATE must be a number, got '$max_error_rate'"
  [[ "$min_updates" =~ ^[0-9]+$ ]] || die 2 "VOX_WATCH_MIN_UPDATES must be a whole number, got '$min_updates'"
}

# Reads /metrics into PREFIX/run/metrics.txt; fails when it does not answer 200.
scrape_metrics() {
  local code
  code="$(curl -s -o "$prefix/run/metrics.txt" -w '%{http_code}' --max-time 3 "$metrics_url" 2>/dev/null)" || true
  [[ "$code" == 200 ]]
}

# metric_total NAME: the sum of every series of NAME in the last scrape.
metric_total() {
  [[ -f "$prefix/run/metrics.txt" ]] || { echo 0; return; }
  awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f\n", s }' "$prefix/run/metrics.txt"
}

# watch_release SECS: looks every VOX_WATCH_EVERY seconds for the plan's red
# triggers until SECS have passed — /healthz not 200 three looks in a row, an
# automatic rollback, the failure rate over VOX_WATCH_MAX_ERROR_RATE. Returns
# 0 when none fired; 1 with `watch_reason` set when one did.
watch_release() {
  local secs="$1" started bad=0 code e0 f0 n0 r0 e f n r
  started="$(now_ms)"
  watch_reason=""
  rm -f "$prefix/run/metrics.txt"
  scrape_metrics || true
  e0="$(metric_total vox_handler_errors_total)"
  f0="$(metric_total vox_plugin_failures_total)"
  n0="$(metric_total vox_handler_duration_seconds_count)"
  r0="$(metric_total vox_rollout_automatic_rollbacks_total)"
  say "watching $metrics_url for ${secs}s (every ${watch_every}s; rolls back on /healthz failing, an automatic rollback, or failures above $max_error_rate per update)"
  while (($(now_ms) - started < secs * 1000)); do
    sleep "$watch_every"
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$health_url" 2>/dev/null)" || true
    if [[ "$code" != 200 ]]; then
      bad=$((bad + 1))
      if ((bad >= 3)); then
        watch_reason="/healthz answered ${code:-nothing} three times in a row"
        return 1
      fi
      continue
    fi
    bad=0
    scrape_metrics || continue
    e="$(metric_total vox_handler_errors_total)"
    f="$(metric_total vox_plugin_failures_total)"
    n="$(metric_total vox_handler_duration_seconds_count)"
    r="$(metric_total vox_rollout_automatic_rollbacks_total)"
    if ((r > r0)); then
      watch_reason="the host rolled a candidate back automatically ($((r - r0)) since the deploy)"
      return 1
    fi
    if ((n - n0 >= min_updates)) &&
      awk -v bad=$((e - e0 + f - f0)) -v all=$((n - n0)) -v max="$max_error_rate" 'BEGIN { exit !(bad / all > max) }'; then
      watch_reason="$((e - e0 + f - f0)) of $((n - n0)) handled updates failed since the deploy (over $max_error_rate per update)"
      return 1
    fi
  done
  scrape_metrics || true
  say "watch: no trigger fired in ${secs}s ($(($(metric_total vox_handler_duration_seconds_count) - n0)) updates handled)"
  return 0
}

# capture_evidence DIR WHY: what the host logged lately (journald under
# VOX_SERVICE, else the pidfile mode's log from its last starts), its last
# /healthz and /metrics, into DIR/evidence-<UTC time>.log; prints the path.
capture_evidence() {
  local dir="$1" why="$2" file
  mkdir -p "$dir"
  file="$dir/$(unique_name "$dir" "evidence-$(utc_stamp).log")"
  {
    echo "# $prog: $why"
    echo "# at $(date -u +%FT%TZ); current: $(link_target current); previous: $(link_target previous)"
    echo "## log"
    if [[ -n "${VOX_SERVICE:-}" ]]; then
      journalctl -u "$VOX_SERVICE" --since "-30min" -n 5000 --no-pager -o cat 2>&1 || echo "(journalctl failed)"
    elif [[ -f "$logfile" ]]; then
      tail -n 5000 "$logfile"
    else
      echo "(no log at $logfile)"
    fi
    echo "## $health_url"
    curl -s --max-time 2 "$health_url" 2>&1 || echo "(no answer)"
    echo
    echo "## $metrics_url"
    curl -s --max-time 3 "$metrics_url" 2>/dev/null | grep -v '^#' || echo "(no answer)"
  } >"$file" 2>&1
  say "evidence of the rollback: $file"
}

# backup_extras BINARY DIR: the rollback override file and each plugin's own
# data (as BINARY's `backup-paths` names them for the config) into the backup
# directory DIR; each recorded in DIR/extras as `archive<TAB>kind<TAB>path`.
backup_extras() {
  local binary="$1" dir="$2" listing kind path n=0 code
  listing="$(cd "$prefix" && "$binary" --config "$config" backup-paths 2>&1)" ||
    die 1 "the new release could not list what to back up: $listing"
  : >"$dir/extras"
  while IFS=$'\t' read -r kind path; do
    [[ -n "$path" && "$kind" != data_dir ]] || continue
    if [[ -d "$path" ]]; then
      n=$((n + 1))
      set +e
      tar -C "$path" -czf "$dir/extra-$n.tar.gz" .
      code=$?
      set -e
      ((code <= 1)) || die 1 "could not archive $path (tar exit $code); nothing was switched"
      printf 'extra-%s.tar.gz\t%s\t%s\n' "$n" "$kind" "$path" >>"$dir/extras"
      say "backed up $kind: $path"
    elif [[ -f "$path" ]]; then
      n=$((n + 1))
      cp -p "$path" "$dir/extra-$n.file"
      printf 'extra-%s.file\t%s\t%s\n' "$n" "$kind" "$path" >>"$dir/extras"
      say "backed up $kind: $path"
    fi
  done <<<"$listing"
}

# prune_old KEEP: removes releases and backups beyond the KEEP newest; the
# releases `current` and `previous` point at are never removed.
prune_old() {
  local keep="$1" cur prev name
  ((keep > 0)) || return 0
  cur="$(basename "$(link_target current)")"
  prev="$(basename "$(link_target previous)")"
  while read -r name; do
    [[ -n "$name" && "$name" != "$cur" && "$name" != "$prev" ]] || continue
    rm -rf "${prefix:?}/releases/$name"
    say "pruned release $name"
  done < <(find "$prefix/releases" -mindepth 1 -maxdepth 1 -type d ! -name '.tmp-*' -printf '%f\n' | sort -r | tail -n +$((keep + 1)))
  while read -r name; do
    [[ -n "$name" ]] || continue
    rm -rf "${prefix:?}/backups/$name"
    say "pruned backup $name"
  done < <(find "$prefix/backups" -mindepth 1 -maxdepth 1 -type d ! -name '*.partial' -printf '%f\n' | sort -r | tail -n +$((keep + 1)))
}
