#!/usr/bin/env bash
# Install nr-apply with its test dependencies into a fresh virtual environment and run the
# whole test suite (unit tests and the integration tests against the bundled lab).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${NR_APPLY_VENV:-.venv}"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet ".[test]"
# The pytest executable, not `python -m pytest`: the latter puts the checkout first on sys.path,
# so the tests would import the source tree instead of the package that was just installed.
exec "$VENV/bin/pytest" "$@"
