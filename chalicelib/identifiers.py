"""Keyed hashing of identifiers that must not be stored in clear (e-mail, IP address).

HMAC-SHA256 with a secret key (from SSM Parameter Store on AWS, from the environment
locally): equal values give equal digests, so they can still be counted and compared,
but a digest cannot be reversed without the key.

>>> IdentifierHasher(b"k").digest("a@example.com") == IdentifierHasher(b"k").digest("a@example.com")
True
"""

from __future__ import annotations

import hashlib

DIGEST_CHARS = 32
_BLOCK_BYTES = 64
"""SHA-256's block size: HMAC pads its key to it."""
_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))


class IdentifierHasher:
    """Hashes identifiers with one secret ``key``.

    HMAC (RFC 2104) over ``hashlib``, as the standard library's pure ``hmac`` computes it:
    the hashes of the padded key are taken once, and each digest copies them. A payment
    needs two or three digests, and OpenSSL 3's one-shot HMAC (``hmac.digest``) costs
    three times as much as the two copies.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 1:
            raise ValueError("the identifier hashing key must not be empty")
        if len(key) > _BLOCK_BYTES:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK_BYTES, b"\0")
        self._inner = hashlib.sha256(key.translate(_INNER_PAD))
        self._outer = hashlib.sha256(key.translate(_OUTER_PAD))

    def digest(self, value: str) -> str:
        """Hex digest (128 bits) of ``value``: truncated HMAC-SHA256 of its UTF-8."""
        inner = self._inner.copy()
        inner.update(value.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[:DIGEST_CHARS]
