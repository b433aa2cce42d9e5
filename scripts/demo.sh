#!/usr/bin/env bash
# Set up the environment and run the main job on the bundled demo data:
# fit generators, sample, evaluate and write an HTML report to demo_output/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV="${SYNTHOMICS_VENV:-.venv}"
"$VENV/bin/synthomics" demo --out "${1:-demo_output}"
