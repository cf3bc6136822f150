#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh machine; cheap when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
if [ -f infra/setup.sh ]; then bash infra/setup.sh; fi
