#!/usr/bin/env bash
# Scaffolds a plugin crate: plugins/<name>/ (crate vox-<name>, id <name with _>),
# adds it to the workspace, links it into the binary (bot/) and gives it a
# section in config/plugins.toml. Usage: scripts/new-plugin.sh <name>
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
name="${1:-}"
if [[ ! "$name" =~ ^[a-z][a-z0-9-]{1,30}$ ]]; then
  echo "usage: scripts/new-plugin.sh <name>   (lowercase letters, digits and '-', 2-31 chars, e.g. weather)" >&2
  exit 2
fi
id="${name//-/_}"
crate="vox-$name"
dir="$root/plugins/$name"
if [[ -e "$dir" ]]; then
  echo "plugins/$name already exists" >&2
  exit 2
fi
if grep -q "^\[plugins\.$id\]" "$root/config/plugins.toml"; then
  echo "config/plugins.toml already has [plugins.$id]" >&2
  exit 2
fi

mkdir -p "$dir/src" "$dir/tests"
for f in Cargo.toml src/lib.rs tests/e2e.rs; do
  sed -e "s/__NAME__/$name/g" -e "s/__ID__/$id/g" -e "s/__CRATE__/$id/g" "$root/scripts/templates/plugin/$f" > "$dir/$f"
done

# Workspace members and the shared dependency entry.
sed -i -E "s|^(members = \[.*)\]|\1, \"plugins/$name\"]|; s|^(default-members = \[.*)\]|\1, \"plugins/$name\"]|" "$root/Cargo.toml"
sed -i "s|^vox-main-menu = { path = \"plugins/main-menu\" }|&\n$crate = { path = \"plugins/$name\" }|" "$root/Cargo.toml"
# The host binary links it: a dependency and a `use` in main.rs.
sed -i "s|^vox-main-menu.workspace = true|&\n$crate.workspace = true|" "$root/bot/Cargo.toml"
sed -i "s|^use vox_main_menu as _;|&\nuse ${crate//-/_} as _;|" "$root/bot/src/main.rs"
printf '\n[plugins.%s]\n# greeting = "..."\n' "$id" >> "$root/config/plugins.toml"

echo "created plugins/$name (crate $crate, plugin id $id), linked into bot/src/main.rs"
echo "next: cargo run -p vox-bot -- check-config"
