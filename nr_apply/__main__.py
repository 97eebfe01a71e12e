"""`python -m nr_apply …` runs the CLI (from a checkout as well as from an install)."""

import sys

from nr_apply.cli import main

sys.exit(main())
