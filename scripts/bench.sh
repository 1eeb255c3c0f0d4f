#!/usr/bin/env bash
# The benchmark from a fresh clone: set up on first use with the peers (the `bench` extra),
# then `workbook bench` with any arguments given (default: everything; docs/performance.md).
# Usage: bash scripts/bench.sh [--only intake|effects|run|scaling] [--sizes 10000,50000,...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh bench
exec .venv/bin/workbook bench "$@"
