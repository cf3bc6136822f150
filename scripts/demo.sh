#!/usr/bin/env bash
# The README's main command: local Kafka + Prometheus, the relay, a fleet of short-lived jobs;
# prints what the jobs emitted beside what Prometheus answers, then tears everything down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --conditions=@prom-relay/source --import tsx apps/relay/demo/demo.ts "$@"
