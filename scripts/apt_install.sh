#!/usr/bin/env bash
# Installs Debian packages for a test when they are missing, or says why not and carries on (the test that needs
# them is then skipped with its reason). Usage: bash scripts/apt_install.sh NAME "what for" pkg [pkg ...]
# Needs apt-get and root, or sudo without a password; WORKBOOK_NO_SYSTEM_PACKAGES=1 never installs anything.
set -euo pipefail
name="$1"; why="$2"; shift 2
[ $# -eq 0 ] && exit 0
if [ -n "${WORKBOOK_NO_SYSTEM_PACKAGES:-}" ]; then
  echo "$name: WORKBOOK_NO_SYSTEM_PACKAGES is set: $* not installed ($why will be skipped)." >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$name: no apt-get here; install $* by hand ($why will be skipped)." >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; else
    echo "$name: installing $* needs root or sudo without a password; not installed ($why will be skipped)." >&2
    exit 0
  fi
fi
echo "$name: installing $* (for $why) ..."
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
