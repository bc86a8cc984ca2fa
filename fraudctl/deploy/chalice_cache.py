"""Chalice's cache of built dependencies (``.chalice/deployments``), held by one packager.

``chalice package`` keeps each stage's built dependencies as a zip in
``.chalice/deployments``, named by the requirements' hash, and reuses any file of that name
unchecked. It writes the zip in place, so a second ``make package`` started while the first
is still writing (two stages packaged side by side, two test workers) reuses a half-written
zip, and an interrupted run leaves one that every later run reuses. ``held`` serialises
packagers on an exclusive lock and removes, once it holds the lock, every zip that does
not open.
"""

from __future__ import annotations

import contextlib
import fcntl
import zipfile
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".package.lock"


def directory(project: Path) -> Path:
    """Where Chalice caches built dependencies for the project at ``project``."""
    return project / ".chalice" / "deployments"


def discard_broken(cache: Path) -> list[str]:
    """Remove the zips in ``cache`` that do not open as zips; return their names, sorted."""
    broken = sorted(p for p in cache.glob("*.zip") if not zipfile.is_zipfile(p))
    for path in broken:
        path.unlink()
    return [path.name for path in broken]


@contextlib.contextmanager
def held(project: Path) -> Iterator[list[str]]:
    """Hold ``project``'s cache for one packaging; yield the broken zips removed from it.

    Blocks until no other process holds the cache (an ``flock`` on a file inside it, released
    when the holder exits, however it exits). Creates the cache directory when missing.
    """
    cache = directory(project)
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / LOCK_NAME, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield discard_broken(cache)
