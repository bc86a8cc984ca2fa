"""Labelled decisions read back from the decisions table, for comparing models.

Only decisions carrying an analyst's label (``POST /v1/feedback``) are returned; the day
reading is ``chalicelib.decision_log``'s.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib.decision_log import DecisionLog
from chalicelib.errors import StoreError
from fraudctl.errors import CommandError

FIELDS = (
    "transaction_id",
    "event_time",
    "customer_id",
    "amount",
    "score",
    "decision",
    "model_version",
    "challenger",
    "label",
)


def labelled_decisions(log: DecisionLog, start: date, end: date) -> list[dict[str, Any]]:
    """Decisions dated in ``[start, end)`` that carry a label, in event-time order per day.

    Raises
    ------
    CommandError
        DynamoDB refuses the query (missing table or index, no access).
    """
    try:
        return log.days(start, end, FIELDS, labelled_only=True)
    except StoreError as exc:
        raise CommandError(str(exc)) from exc
