"""Stored decision records as the API shows them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.transaction import TransactionValidationError, transaction_id_error

INTERNAL_FIELDS = frozenset({"day_bucket", "shards", "entities", "expires_at", "alert", "day"})


def public_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """The stored decision without storage internals (shards, TTL, index keys)."""
    return {name: value for name, value in record.items() if name not in INTERNAL_FIELDS}


def validate_transaction_id(transaction_id: str) -> None:
    """Raise ``TransactionValidationError`` unless ``transaction_id`` fits the contract."""
    error = transaction_id_error(transaction_id)
    if error is not None:
        raise TransactionValidationError([error])
