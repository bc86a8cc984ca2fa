"""Keyed hashing of identifiers that must not be stored in clear (e-mail, IP address).

HMAC-SHA256 with a secret key (from SSM Parameter Store on AWS, from the environment
locally): equal values give equal digests, so they can still be counted and compared,
but a digest cannot be reversed without the key.

>>> IdentifierHasher(b"k").digest("a@example.com") == IdentifierHasher(b"k").digest("a@example.com")
True
"""

from __future__ import annotations

import hmac

DIGEST_CHARS = 32


class IdentifierHasher:
    """Hashes identifiers with one secret ``key``."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 1:
            raise ValueError("the identifier hashing key must not be empty")
        self._key = key

    def digest(self, value: str) -> str:
        """Hex digest (128 bits) of ``value``."""
        return hmac.digest(self._key, value.encode(), "sha256").hex()[:DIGEST_CHARS]
