#!/usr/bin/env bash
# Runs the test suite: set up on first use (with the test extra), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/setup_browser.sh      # Debian's chromium, chromium-driver, fonts-noto-cjk when missing
exec .venv/bin/python -m pytest "$@"
