#!/usr/bin/env bash
# Set up the environment and run the whole test suite (lint first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV="${SYNTHOMICS_VENV:-.venv}"
"$VENV/bin/ruff" check src tests benchmarks
# pytest exits 5 when it collects no test; set -e turns that into a failure too.
"$VENV/bin/python" -m pytest -n 2 --dist loadfile "$@"
