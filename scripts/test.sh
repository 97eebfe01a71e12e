#!/usr/bin/env bash
# Install nr-apply with its test dependencies and the bundled lab (the `lab` extra, the
# distribution in lab/) into a fresh virtual environment, check the import contracts, and run
# the whole test suite (unit tests and the integration tests against the bundled lab).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${NR_APPLY_VENV:-.venv}"
# The shared-state tests start a real PostgreSQL server (tests/state/pg_server.py); its binaries
# come from Debian's postgresql package. Only the binaries are used: the tests run their own
# server on a free loopback port, as the `postgres` user when this runs as root.
if [ -z "${NR_APPLY_PG_BINDIR:-}" ] && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing PostgreSQL server binaries (Debian package postgresql)" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    else
        echo "PostgreSQL server binaries not found: install Debian's postgresql package (or set" \
             "NR_APPLY_PG_BINDIR to a folder holding initdb and postgres)" >&2
        exit 3
    fi
fi
# The source-of-truth tests run against real NetBox and Nautobot servers, each installed from
# PyPI into its own virtual environment under .sot/ (kept between runs of one checkout), beside
# the project's own install.
bash scripts/sot/install.sh &
SOT_INSTALL=$!
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# The lab is not on PyPI: naming its folder is what satisfies the `lab` extra.
"$VENV/bin/python" -m pip install --quiet ".[test,lab]" ./lab
wait "$SOT_INSTALL"
# The SONiC tests validate CONFIG_DBs against SONiC's YANG models with libyang's yanglint.
if ! command -v yanglint >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libyang2-tools >/dev/null
fi
# The HTML report is tested in a real headless Chromium (Debian's), driven by Playwright for
# Python with executable_path=/usr/bin/chromium: Playwright's own browser download is never used.
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "installing Chromium (Debian packages chromium, chromium-driver)" >&2
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver >/dev/null
fi
# NX-OS's replace file goes over SCP: nr-apply's sender is tested against OpenSSH's own sink
# (`scp -t`, Debian's openssh-client).
if ! command -v scp >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    openssh-client >/dev/null
fi
# The import contracts ([tool.importlinter] in pyproject.toml): a broken one fails before any test.
"$VENV/bin/lint-imports" --no-cache
# The pytest executable, not `python -m pytest`: the latter puts the checkout first on sys.path,
# so the tests would import the source tree instead of the package that was just installed.
exec "$VENV/bin/pytest" "$@"
