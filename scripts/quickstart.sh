#!/usr/bin/env bash
# Install nr-apply and its bundled lab (the `lab` extra, the distribution in lab/) into .venv
# and run the bundled plan against the bundled lab:
# lab up (factory state), validate, dry-run, phased apply, dry-run showing no changes, lab down.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet '.[lab]' ./lab
nr=.venv/bin/nr-apply
plan=plans/lossless-rollout.yaml

# Lab-only credentials (README "The lab"); a real fabric uses the environment or a credentials file.
export NR_APPLY_USERNAME=admin NR_APPLY_PASSWORD='Lossless!Lab42'

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  step() { printf '\n== %s\n' "$*"; }
fi

step "Start the lab fabric (every device of inventory/, emulated on 127.0.0.1) from factory state"
$nr lab up --detach
trap '$nr lab down >/dev/null' EXIT
$nr lab reset
$nr lab status

step "Validate the plan and its fabric intent (nothing is touched)"
$nr validate "$plan"

step "Dry-run: what would change on every node (exit 2 = changes pending)"
rc=0; $nr "$plan" --dry-run || rc=$?
[ "$rc" -eq 2 ] || { echo "expected changes pending (exit 2), got $rc"; exit 1; }

step "Apply, phase by phase, batch by batch (timed revert armed, verified, gated, confirmed)"
$nr "$plan" --yes

step "Dry-run again: the fabric is at intent (exit 0)"
$nr "$plan" --dry-run -q

step "Done: the lab fabric is converged"
