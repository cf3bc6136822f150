#!/usr/bin/env bash
# The one test command (README Quick start, .ci/run): installs what it needs, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
bash scripts/setup.sh
TURBO_TELEMETRY_DISABLED=1 npx turbo run build typecheck --output-logs=errors-only
mkdir -p .cache
# One e2e test runs a real Go job using the Prometheus Go client's push package: fetch its modules up front.
command -v go >/dev/null 2>&1 || { echo "the Go toolchain (go) is needed by the Go push client test: install Go 1.23+" >&2; exit 1; }
(cd apps/relay/test/ingest/go-push && go mod download)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest-report.json || status=$?
node scripts/test-summary.mjs .cache/vitest-report.json || true
# Only a run that passed is a duration worth quoting (BENCHMARKS.md's Test suite section reads it).
if [ "$status" -eq 0 ]; then echo $(( $(date +%s) - started )) > .cache/test-duration.txt; fi
exit $status
