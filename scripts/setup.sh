#!/usr/bin/env bash
# Builds the project's virtual environment on first use (or when pyproject.toml or this script
# changes), installs the workbook with pinned dependencies, registers the named Jupyter kernel
# inside the venv (--sys-prefix) and, for the main venv, turns on nbstripout for this clone.
# Usage: bash scripts/setup.sh [extra]                  .venv: Python 3.11 (else 3.12, else 3.13)
#        bash scripts/setup.sh --python 3.13 [extra]   .venv-3.13 (exit 4 when 3.13 is not found)
# e.g. bash scripts/setup.sh test. Interpreters are found on PATH or through pyenv (scripts/find_python.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
want=""
if [ "${1:-}" = "--python" ]; then want="${2:?setup: --python needs a version, e.g. 3.13}"; shift 2; fi
extra="${1:-}"

if [ -n "$want" ]; then
  venv=".venv-$want"
  py="$(bash scripts/find_python.sh "$want")" || {
    echo "setup: Python $want not found (on PATH or through pyenv)." >&2; exit 4; }
else
  venv=".venv"
  py=""
  if [ ! -x .venv/bin/python ]; then
    for v in 3.11 3.12 3.13; do py="$(bash scripts/find_python.sh "$v")" && break; done
    if [ -z "$py" ]; then
      echo "setup: Python 3.11, 3.12 or 3.13 is required (none found on PATH or through pyenv)." >&2
      exit 1
    fi
  fi
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating the virtual environment in $venv with Python $("$py" -c 'import platform; print(platform.python_version())') (first run, a few minutes) ..."
  "$py" -m venv "$venv"
fi

spec="${extra:+.[$extra]}"; spec="${spec:-.}"
stamp="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)-${extra:-base}"
have="$(cat "$venv/.workbook-stamp" 2>/dev/null || true)"
# A test install also satisfies a plain run and the benchmark (the test extra holds the bench peers).
covered=no
if [ "${have%-*}" = "${stamp%-*}" ]; then
  case "$extra:${have##*-}" in :*|bench:test) covered=yes ;; esac
fi
if [ "$have" != "$stamp" ] && [ "$covered" = no ]; then
  echo "setup: installing the workbook and its pinned dependencies ($spec) into $venv (about 1-2 minutes the first time) ..."
  t0=$SECONDS
  "$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1
  # progress: every tenth package pip collects, then how many it installed (pip's own output is hundreds of lines)
  "$venv/bin/python" -m pip install --progress-bar off -e "$spec" 2> >(grep -v "^WARNING: Location" >&2) \
    | awk '/^Collecting /{n++; if (n % 10 == 1) {printf "setup:   %d packages collected (%s) ...\n", n, $2; fflush()}}
           /^Installing collected packages/{print "setup:   unpacking them into the environment ..."; fflush()}
           /^Successfully installed/{printf "setup:   %d packages installed\n", NF - 2; fflush()}'
  echo "setup: installed in $((SECONDS - t0)) s"
  "$venv/bin/python" -m ipykernel install --sys-prefix --name rural-workbook \
      --display-name "乡村振兴评估 (rural-workbook)" >/dev/null
  echo "$stamp" > "$venv/.workbook-stamp"
fi

# Notebooks go into git without outputs: the nbstripout filter does it on every commit (the
# filter names the main venv's Python, so only the main venv installs it).
if [ "$venv" = .venv ] && git rev-parse --git-dir >/dev/null 2>&1; then
  .venv/bin/nbstripout --install >/dev/null 2>&1 || true
fi
