#!/usr/bin/env bash
# The workbook's main job on the bundled sample: set up on first use, then clean the
# latest quarter: intake, indicators, effects, report, HTML exports in reports/<quarter>/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/workbook run "$@"
