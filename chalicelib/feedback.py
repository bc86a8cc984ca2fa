"""The feedback contract: ``{"transaction_id": str, "is_fraud": bool}``."""

from __future__ import annotations

from typing import Any, NamedTuple

from chalicelib.transaction import (
    FieldError,
    TransactionValidationError,
    card_number_errors,
    transaction_id_error,
)

FEEDBACK_FIELDS = frozenset({"transaction_id", "is_fraud"})


class Feedback(NamedTuple):
    transaction_id: str
    is_fraud: bool


def parse_feedback(payload: Any) -> Feedback:
    """Validate a feedback body.

    Raises
    ------
    TransactionValidationError
        Naming every bad field.
    """
    if not isinstance(payload, dict):
        raise TransactionValidationError([FieldError("body", "must be a JSON object")])
    errors = [FieldError(str(k), "unknown field") for k in sorted(set(payload) - FEEDBACK_FIELDS)]
    errors += card_number_errors(payload)
    transaction_id = payload.get("transaction_id")
    id_error = transaction_id_error(transaction_id)
    if id_error is not None:
        errors.append(id_error)
    is_fraud = payload.get("is_fraud")
    if not isinstance(is_fraud, bool):
        errors.append(FieldError("is_fraud", "must be true or false"))
    if errors:
        raise TransactionValidationError(errors)
    return Feedback(str(transaction_id), bool(is_fraud))
