#!/usr/bin/env bash
# Runs the test suite: set up on first use (with the test extra), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
exec .venv/bin/python -m pytest "$@"
