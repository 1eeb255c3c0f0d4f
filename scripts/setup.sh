#!/usr/bin/env bash
# Builds the project's virtual environment in .venv on first use (or when pyproject.toml
# or this script changes), installs the workbook with pinned dependencies, registers the named Jupyter
# kernel inside the venv (--sys-prefix) and turns on nbstripout for this clone.
# Usage: bash scripts/setup.sh [extra]      e.g. bash scripts/setup.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"

py=""
for cand in python3.11 python3 python; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    py="$cand"; break
  fi
done
if [ -z "$py" ]; then
  echo "setup: Python 3.11 is required (python3.11 not found on PATH)." >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating the virtual environment in .venv (first run, a few minutes) ..."
  "$py" -m venv .venv
fi

spec="${extra:+.[$extra]}"; spec="${spec:-.}"
stamp="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)-${extra:-base}"
have="$(cat .venv/.workbook-stamp 2>/dev/null || true)"
# A test install also satisfies a plain run and the benchmark (the test extra holds the bench peers).
covered=no
if [ "${have%-*}" = "${stamp%-*}" ]; then
  case "$extra:${have##*-}" in :*|bench:test) covered=yes ;; esac
fi
if [ "$have" != "$stamp" ] && [ "$covered" = no ]; then
  echo "setup: installing the workbook and its pinned dependencies ($spec) ..."
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1
  .venv/bin/python -m pip install --quiet -e "$spec" 2> >(grep -v "^WARNING: Location" >&2)
  .venv/bin/python -m ipykernel install --sys-prefix --name rural-workbook \
      --display-name "乡村振兴评估 (rural-workbook)" >/dev/null
  echo "$stamp" > .venv/.workbook-stamp
fi

# Notebooks go into git without outputs: the nbstripout filter does it on every commit.
if git rev-parse --git-dir >/dev/null 2>&1; then
  .venv/bin/nbstripout --install >/dev/null 2>&1 || true
fi
