# Sourced by the operator scripts: finds the vox-host binary and the config file.
# Sets VOX_HOST_BIN and config_args (an array: --config FILE, or empty to use VOX_CONFIG).
if [[ -z "${VOX_HOST_BIN:-}" ]]; then
  target="${CARGO_TARGET_DIR:-$root/target}"
  for candidate in "$target/release/vox-host" "$target/debug/vox-host"; do
    if [[ -x "$candidate" ]]; then VOX_HOST_BIN="$candidate"; break; fi
  done
  VOX_HOST_BIN="${VOX_HOST_BIN:-$(command -v vox-host || true)}"
fi
if [[ -z "$VOX_HOST_BIN" ]]; then
  echo "vox-host binary not found: build it (cargo build --release -p vox-bot) or set VOX_HOST_BIN" >&2
  exit 2
fi
config_args=()
if [[ "${1:-}" == "--config" ]]; then
  config_args=(--config "$2"); shift 2
fi
