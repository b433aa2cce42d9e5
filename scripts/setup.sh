#!/usr/bin/env bash
# Create .venv (if needed) and install synthomics into it, CPU torch first.
# Usage: bash scripts/setup.sh            (or SYNTHOMICS_VENV=/path bash scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${SYNTHOMICS_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# The pinned CPU build first: an unpinned torch would pull the CUDA wheels.
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
