"""The cyclic garbage collector's settings for a process that loads a big structure once and then
works on it: a run (the fabric) and the lab (its devices).

CPython's collector walks every tracked object that has survived a collection; at a thousand
nodes that is millions of objects (inventory, intent, parsed read-backs), and with its default
settings a 1,012-node dry-run spent 3.5 s of its 17 s of CPU in the collector. So a command lets
the youngest generation grow to 50,000 objects before a collection (reading, parsing and
planning a node allocates thousands, most freed at once by reference counting), and what is
loaded before the work starts, which lives until the end, is frozen out of the collector's
reach. Cycles are still collected, less often. Measured with benchmarks/growth.py.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

YOUNG_THRESHOLD = 50_000


@contextmanager
def bulk() -> Iterator[None]:
    """Around a whole command. Leaving restores the collector's settings and unfreezes what
    `freeze_loaded` froze (a process that runs several commands, such as a test session, then
    collects each one's cycles)."""
    thresholds = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def freeze_loaded() -> None:
    """Once the long-lived structure (the fabric, the lab's devices) is loaded."""
    gc.freeze()
