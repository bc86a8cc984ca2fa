"""moto's DynamoDB made fast enough for long replays (test speed only, same answers).

See ``fraudctl.local.moto_patches``; the exactly-once and budget tests run on unpatched
moto, the parity replay uses ``fast_moto``.
"""

from __future__ import annotations

import pytest

from fraudctl.local import moto_patches


def fast_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """The patches, for the rest of the test."""
    moto_patches.install(monkeypatch.setattr)
