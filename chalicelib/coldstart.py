"""Cold start: the functions' imports without the cyclic garbage collector.

A cold start builds some 10^5 objects (modules, classes, botocore's and numpy's tables)
that live as long as the container. The cyclic collector, set off by those allocations,
scans them again and again and finds next to nothing to free: about a tenth of a cold
start (bench/RESULTS.md). ``collector_paused`` pauses it for a block, then moves every
object allocated so far to the permanent generation (``gc.freeze``), which later
collections, warm invocations' included, no longer scan. Objects still die when their
last reference goes; only a reference cycle made before the freeze is never collected.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector paused, then freeze every tracked
    object and resume collecting if the collector was enabled before.

    Meant for what runs once per container (``app.py``'s imports, the runtime's build):
    each use freezes whatever is alive, until ``thaw``.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def thaw() -> None:
    """Give every frozen object back to the collector (a test that forgets a runtime and
    builds another: the first one's cycles can then be collected)."""
    gc.unfreeze()
