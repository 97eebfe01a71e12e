"""The one live Rich view on the terminal (a rollout's progress table). Whatever prints to the
terminal next (the final report, a plain progress line) ends it first, so nothing is drawn
over it; it also ends at exit."""

from __future__ import annotations

import atexit

from rich.live import Live

_live: Live | None = None


def show(live: Live) -> Live:
    """Make `live` the view on the terminal (started), ending the one before it."""
    global _live
    finish()
    _live = live
    live.start()
    return live


def current() -> Live | None:
    return _live


def finish() -> None:
    """Stop the live view (before a final report is printed, and at exit)."""
    global _live
    if _live is not None:
        _live.stop()
        _live = None


atexit.register(finish)
