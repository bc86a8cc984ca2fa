"""Identifier digests stay what they were: stored list keys and decision records hold them."""

from __future__ import annotations

import hashlib
import hmac

from chalicelib.identifiers import DIGEST_CHARS, IdentifierHasher


def test_digest_is_truncated_hmac_sha256_of_the_utf8_value() -> None:
    # Given a key and values, some outside ASCII
    hasher = IdentifierHasher(b"k")
    for value in ("a@example.com", "10.0.0.1", "card_1_1", "émile@exemple.fr"):
        # When hashed
        digest = hasher.digest(value)
        # Then the digest is the first 128 bits of HMAC-SHA256, in hex
        expected = hmac.new(b"k", value.encode(), hashlib.sha256).hexdigest()[:DIGEST_CHARS]
        assert digest == expected
    assert hasher.digest("a@example.com") == "a05c70e82e83107984638ae2c8565880"
    assert IdentifierHasher(b"another key").digest("a@example.com") != hasher.digest(
        "a@example.com"
    )


def test_digest_equals_the_standard_library_s_hmac_for_keys_of_every_length() -> None:
    # Given keys shorter than, as long as and longer than SHA-256's 64-byte block
    for length in (1, 16, 32, 63, 64, 65, 200):
        key = bytes((7 * index + 3) % 256 for index in range(length))
        hasher = IdentifierHasher(key)
        for value in ("", "C-1", "x" * 500, "émile@exemple.fr"):
            # When hashed, Then the digest is the standard library's HMAC-SHA256, truncated
            expected = hmac.digest(key, value.encode(), "sha256").hex()[:DIGEST_CHARS]
            assert hasher.digest(value) == expected, (length, value)
