"""The state option shared by every command that reads or writes runs and fabric locks."""

from __future__ import annotations

import argparse

STATE_HELP = ("where runs and fabric locks live: a directory (embedded SQLite) or a postgresql://USER@HOST/DB "
              "URL shared by a team (default: $NR_APPLY_STATE, else the plan's `state:`, else .nr-apply at the "
              "top of the fabric repository, found by walking up to .git or a journal); a password in the URL "
              "is never printed")


def add_state_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state", metavar="DIR|URL", help=STATE_HELP)
    p.add_argument("--state-dir", dest="state", help=argparse.SUPPRESS)  # the option's former name
