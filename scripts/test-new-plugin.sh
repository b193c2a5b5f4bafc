#!/usr/bin/env bash
# Proves the scaffold: copies the repository, runs new-plugin.sh, then builds the
# host, checks that the new plugin is registered, lints it and runs the unit
# and end-to-end tests the template ships.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The committed tree (what CI sees), not the work tree.
git -C "$root" archive HEAD | tar -x -C "$work"
cd "$work"
scripts/new-plugin.sh demo-plugin >/dev/null
# Reuse the repository's compiled dependencies.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cargo build -q -p vox-bot
table="$("$CARGO_TARGET_DIR/debug/vox-host" check-config)"
if ! grep -q '^demo_plugin ' <<<"$table"; then
  echo "scaffold: FAILED — demo_plugin not registered:" >&2
  echo "$table" >&2
  exit 1
fi
cargo clippy -q -p vox-demo-plugin --all-targets -- -D warnings
cargo test -q -p vox-demo-plugin
echo "scaffold: 1 passed, 0 failed"
