#!/usr/bin/env bash
# The never-rules of the crate graph (docs/ARCHITECTURE.md), checked with
# `cargo tree` over normal dependencies:
# - the SDK (vox-plugin) depends on no vox crate;
# - the production library (vox-host) depends on vox-plugin only: no plugin, no fake Telegram;
# - a plugin depends on no host, binary, test kit or other plugin.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
# The vox crates a package reaches through normal dependencies, itself excluded.
vox_deps() {
  cargo tree --locked --offline -q -p "$1" -e normal --prefix none 2>/dev/null \
    | grep -oE '^vox-[a-z0-9-]+' | sort -u | grep -vx "$1" || true
}
refuse() {
  echo "check-deps: $1" >&2
  fail=1
}

sdk="$(vox_deps vox-plugin)"
[[ -z "$sdk" ]] || refuse "vox-plugin (the SDK) depends on $(echo $sdk) — it must know no host and no plugin"

host="$(vox_deps vox-host | grep -vx vox-plugin || true)"
[[ -z "$host" ]] || refuse "vox-host (the production library) depends on $(echo $host) — only vox-plugin is allowed; link plugins and the fake in bot/"

plugins=$(for m in plugins/*/Cargo.toml; do sed -n 's/^name = "\(.*\)"/\1/p' "$m" | head -n1; done | grep -vx vox-plugin)
for p in $plugins; do
  bad="$(vox_deps "$p" | grep -E '^vox-(host|bot|testkit|fake-bot-api)$|'"$(echo $plugins | tr ' ' '|' | sed 's/^/^(/; s/$/)$/')" || true)"
  [[ -z "$bad" ]] || refuse "plugin $p depends on $(echo $bad) — a plugin depends on vox-plugin and shared libraries only"
done

if [[ $fail -eq 0 ]]; then
  echo "check-deps: vox-plugin, vox-host and $(echo $plugins | wc -w) plugin crate(s) keep the never-rules"
fi
exit $fail
