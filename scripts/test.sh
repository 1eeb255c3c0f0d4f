#!/usr/bin/env bash
# Runs the test suite: the full suite on the main venv (.venv, Python 3.11), then the fast tests
# (-m "not slow": no notebooks, no whole run, no browser, no simulation studies) on Python 3.13
# in .venv-3.13. Each venv is set up on first use (with the test extra); arguments go to pytest
# on both. Without Python 3.13 (on PATH or through pyenv) the second leg is skipped with a note;
# WORKBOOK_FAST_PYTHON=3.12 runs it on 3.12 instead, WORKBOOK_FAST_PYTHON= (empty) skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/setup_browser.sh      # Debian's chromium, chromium-driver, fonts-noto-cjk when missing
bash scripts/setup_office.sh       # Debian's libreoffice-writer-nogui and poppler-utils when missing
status=0
.venv/bin/python -m pytest "$@" || status=$?

fast="${WORKBOOK_FAST_PYTHON-3.13}"
if [ -z "$fast" ]; then
  echo "test: no second Python (WORKBOOK_FAST_PYTHON is empty)."
elif ! bash scripts/find_python.sh "$fast" >/dev/null; then
  echo "test: Python $fast not found (on PATH or through pyenv): its fast tests are skipped."
else
  echo "test: the fast tests on Python $fast (.venv-$fast) ..."
  t0=$SECONDS
  bash scripts/setup.sh --python "$fast" test
  rc=0
  ".venv-$fast/bin/python" -m pytest -m "not slow" "$@" || rc=$?
  [ "$rc" -eq 5 ] && rc=0            # arguments that select only slow tests leave none here
  echo "test: Python $fast: set-up and fast tests took $((SECONDS - t0)) s."
  [ "$status" -eq 0 ] && status=$rc
fi
exit "$status"
