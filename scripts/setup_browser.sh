#!/usr/bin/env bash
# Installs what the browser test needs when it is missing: Debian's chromium, chromium-driver
# and the Noto CJK fonts (so that Chinese renders in the headless browser). Needs root or sudo
# (scripts/apt_install.sh); without them the browser test is skipped with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
bash scripts/apt_install.sh setup_browser "the browser test" "${need[@]}"
