#!/usr/bin/env bash
# Prints the path of a Python interpreter of one minor version (e.g. 3.13), or nothing and exit 1.
# Looks on PATH (python3.13, python3, python), then in pyenv (`pyenv prefix 3.13`), then in
# ~/.pyenv/versions/3.13*/ (pyenv installed but not on PATH). A pyenv shim for a version that
# is installed but not selected does not count: the interpreter itself is found through pyenv.
# Usage: bash scripts/find_python.sh 3.13
set -uo pipefail
want="${1:?usage: find_python.sh 3.X}"

is_it() {   # is "$1" a working interpreter of version $want?
  [ -n "$1" ] && "$1" -c "import sys; sys.exit('%d.%d' % sys.version_info[:2] != '$want')" >/dev/null 2>&1
}

for cand in "python$want" python3 python; do
  if command -v "$cand" >/dev/null 2>&1 && is_it "$cand"; then command -v "$cand"; exit 0; fi
done
if command -v pyenv >/dev/null 2>&1; then
  prefix="$(pyenv prefix "$want" 2>/dev/null | head -n 1)"
  if [ -n "$prefix" ] && is_it "$prefix/bin/python"; then echo "$prefix/bin/python"; exit 0; fi
fi
for cand in "${PYENV_ROOT:-$HOME/.pyenv}/versions/$want".*/bin/python; do
  if is_it "$cand"; then echo "$cand"; exit 0; fi
done
exit 1
