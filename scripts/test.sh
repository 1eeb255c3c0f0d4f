#!/usr/bin/env bash
# Runs the test suite: set up on first use (with the test extra), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/setup_browser.sh      # Debian's chromium, chromium-driver, fonts-noto-cjk when missing
bash scripts/setup_office.sh       # Debian's libreoffice-writer-nogui and poppler-utils when missing
exec .venv/bin/python -m pytest "$@"
