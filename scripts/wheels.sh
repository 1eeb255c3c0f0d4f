#!/usr/bin/env bash
# Builds a folder of wheels (wheelhouse/) on a machine with internet, for office machines
# without it. Usage:
#   bash scripts/wheels.sh                 # wheels for this machine's platform
#   bash scripts/wheels.sh win_amd64       # wheels for 64-bit Windows (Python 3.11)
#   bash scripts/wheels.sh win_amd64 3.13  # the same for Python 3.12 or 3.13
# Then, on the offline machine, with that Python:
#   python -m venv .venv && .venv\Scripts\pip install --no-index --find-links wheelhouse rural-workbook
set -euo pipefail
cd "$(dirname "$0")/.."
platform="${1:-}"
pyver="${2:-3.11}"
bash scripts/setup.sh >/dev/null
rm -rf wheelhouse && mkdir -p wheelhouse
.venv/bin/python -m pip wheel --no-deps --quiet -w wheelhouse .
reqs=$(.venv/bin/python - <<'PY'
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
)
echo "$reqs" > wheelhouse/requirements.txt
if [ -n "$platform" ]; then
  # Pure-Python dependencies published only as source (fontmeta, for mplfonts) are built into
  # universal wheels here, so the platform download can take them.
  .venv/bin/python -m pip wheel --quiet --no-deps -w wheelhouse "fontmeta>=1.6.1"
  .venv/bin/python -m pip download --quiet --only-binary=:all: --platform "$platform" --python-version "$pyver" \
      --implementation cp --find-links wheelhouse -d wheelhouse -r wheelhouse/requirements.txt
else
  .venv/bin/python -m pip download --quiet -d wheelhouse -r wheelhouse/requirements.txt
fi
echo "wheelhouse/: $(ls wheelhouse | wc -l) files, $(du -sh wheelhouse | cut -f1)"
