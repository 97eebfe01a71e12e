#!/usr/bin/env bash
# Install the source-of-truth servers the tests run against: NetBox and Nautobot (pinned in
# pins.env) from PyPI, each in its own virtual environment under .sot/ (or $NR_APPLY_SOT_DIR),
# made from a Python 3.12. An environment already complete for its pin is kept, so a second run
# in the same checkout takes a second. PostgreSQL and Redis come from Debian packages.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=pins.env
. "$HERE/pins.env"
SOT_DIR="${NR_APPLY_SOT_DIR:-$ROOT/.sot}"
mkdir -p "$SOT_DIR"

find_python312() {
    if [ -n "${NR_APPLY_PYTHON312:-}" ]; then echo "$NR_APPLY_PYTHON312"; return; fi
    # pyenv's shims exist for every version it knows, so each candidate is asked to run.
    for candidate in "$HOME"/.pyenv/versions/3.12*/bin/python python3.12 /root/.pyenv/versions/3.12*/bin/python; do
        if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
            command -v "$candidate"; return
        fi
    done
    echo "no Python 3.12 found (NetBox needs >= 3.12): install one or set NR_APPLY_PYTHON312" >&2
    exit 3
}

# Debian packages: redis-server for both apps, libpq-dev and gcc to build NetBox's psycopg-c.
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v pg_config >/dev/null || missing+=(libpq-dev)
command -v gcc >/dev/null || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing Debian packages: ${missing[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        # The package's own service is not wanted: the tests start their own servers.
        if command -v service >/dev/null && service redis-server status >/dev/null 2>&1; then
            service redis-server stop >/dev/null 2>&1 || true
        fi
    else
        echo "missing Debian packages for the SoT test servers: ${missing[*]}" >&2
        exit 3
    fi
fi

PY312="$(find_python312)"

# install_app NAME VERSION REQUIREMENT...: a venv at $SOT_DIR/NAME-VERSION, marked complete
# only once pip has finished, so an interrupted install is redone, never half-used.
install_app() {
    local name="$1" version="$2"; shift 2
    local venv="$SOT_DIR/$name-$version"
    if [ -f "$venv/.complete" ]; then return 0; fi
    rm -rf "$venv"
    "$PY312" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >"$SOT_DIR/$name-install.log" 2>&1 || {
        echo "installing $name $version failed; see $SOT_DIR/$name-install.log" >&2; tail -20 "$SOT_DIR/$name-install.log" >&2
        return 1
    }
    touch "$venv/.complete"
}

started=$(date +%s)
install_app netbox "$NETBOX_VERSION" "netbox==$NETBOX_VERSION" &
netbox_pid=$!
install_app nautobot "$NAUTOBOT_VERSION" "nautobot==$NAUTOBOT_VERSION" "gunicorn==$GUNICORN_VERSION" &
nautobot_pid=$!
status=0
wait "$netbox_pid" || status=1
wait "$nautobot_pid" || status=1
[ "$status" = 0 ] || exit 1
elapsed=$(( $(date +%s) - started ))
if [ "$elapsed" -gt 5 ]; then
    echo "SoT servers installed in ${elapsed}s: NetBox $NETBOX_VERSION, Nautobot $NAUTOBOT_VERSION ($SOT_DIR)" >&2
fi
