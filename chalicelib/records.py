"""Stored decision records as the API shows them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.transaction import (
    TRANSACTION_ID_PATTERN,
    FieldError,
    TransactionValidationError,
)

INTERNAL_FIELDS = frozenset({"day_bucket", "shards", "entities", "expires_at", "alert", "day"})


def public_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """The stored decision without storage internals (shards, TTL, index keys)."""
    return {name: value for name, value in record.items() if name not in INTERNAL_FIELDS}


def validate_transaction_id(transaction_id: str) -> None:
    """Raise ``TransactionValidationError`` unless ``transaction_id`` fits the contract."""
    if not TRANSACTION_ID_PATTERN.fullmatch(transaction_id):
        raise TransactionValidationError(
            [FieldError("transaction_id", "must be 1-128 characters of A-Z a-z 0-9 _ . : -")]
        )
