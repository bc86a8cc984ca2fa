"""Cold start: the functions' imports with one BLAS thread and without the cyclic garbage
collector.

numpy's OpenBLAS starts a worker thread per further CPU when numpy is imported, and each
one spins for about 0.1 s of CPU waiting for work that never comes: the functions multiply
a few rows by a few dozen coefficients, which one thread does at once. On a Lambda of
512 MB (under a third of a vCPU) that CPU is taken from the cold start itself.
``one_blas_thread`` keeps OpenBLAS on the calling thread: a cold start then uses a fifth
less CPU (bench/RESULTS.md).

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
import os
from collections.abc import Iterator

BLAS_THREADS = "OPENBLAS_NUM_THREADS"


def one_blas_thread() -> None:
    """Have OpenBLAS run on the calling thread only, unless ``OPENBLAS_NUM_THREADS`` is
    already set. OpenBLAS reads the variable once, when numpy is first imported: call this
    before."""
    os.environ.setdefault(BLAS_THREADS, "1")


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
