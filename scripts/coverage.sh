#!/usr/bin/env bash
# Line coverage of the my-reports plugin and its report store
# (crates/report-store), from their unit tests and the end-to-end tests, with cargo-llvm-cov (installed here if missing). Fails
# under 80%. Usage: scripts/coverage.sh [extra cargo-llvm-cov args, e.g. --html]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup component list --installed 2>/dev/null | grep -q '^llvm-tools'; then
  rustup component add llvm-tools
fi
if ! cargo llvm-cov --version >/dev/null 2>&1; then
  cargo install cargo-llvm-cov --locked
fi
# Everything but the plugin's and the store's own sources is left out of the figure.
cargo llvm-cov --locked -p vox-my-reports -p vox-report-store -p vox-testkit \
  --ignore-filename-regex '/(host|tests|plugins/api|plugins/main-menu|\.cargo)/' \
  --fail-under-lines 80 "$@"
