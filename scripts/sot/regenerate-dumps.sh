#!/usr/bin/env bash
# Rebuild the committed database dumps the SoT tests restore (tests/sot/dumps/) after a pin in
# scripts/sot/pins.env moves: installs the pinned apps, migrates an empty database for each
# (several minutes each) and dumps it. Usage: regenerate-dumps.sh [netbox|nautobot ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/sot/install.sh
PYTHON="${NR_APPLY_VENV:-.venv}/bin/python"
exec "$PYTHON" scripts/sot/regenerate_dumps.py "$@"
