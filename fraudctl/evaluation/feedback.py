"""Labelled decisions read back from the decisions table, for comparing models.

The table's ``by_day`` index is partitioned by ``day_bucket`` (``YYYY-MM-DD#NN``, NN in
00..15, spread by transaction id) and sorted by ``event_time``: a day is 16 queries.
Only decisions carrying an analyst's label (``POST /v1/feedback``) are returned.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.scoring import DAY_BUCKETS
from chalicelib.state.dynamodb import item_from_dynamo
from fraudctl.errors import CommandError

DAY_INDEX = "by_day"
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


def days_between(start: date, end: date) -> Iterator[date]:
    """Every day of ``[start, end)``."""
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)


def labelled_decisions(dynamodb: Any, table: str, start: date, end: date) -> list[dict[str, Any]]:
    """Decisions dated in ``[start, end)`` that carry a label, in event-time order per day.

    Raises
    ------
    CommandError
        DynamoDB refuses the query (missing table or index, no access).
    """
    names = {f"#{name}": name for name in FIELDS}  # some are reserved words
    records: list[dict[str, Any]] = []
    for day in days_between(start, end):
        for bucket in range(DAY_BUCKETS):
            kwargs: dict[str, Any] = {
                "TableName": table,
                "IndexName": DAY_INDEX,
                "KeyConditionExpression": "day_bucket = :bucket",
                "FilterExpression": "attribute_exists(#label)",
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {":bucket": {"S": f"{day}#{bucket:02d}"}},
            }
            records += _query_all(dynamodb, kwargs)
    return records


def _query_all(dynamodb: Any, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    try:
        while True:
            page = dynamodb.query(**kwargs)
            items += [item_from_dynamo(raw) for raw in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}
    except (ClientError, BotoCoreError) as exc:
        raise CommandError(f"cannot read decisions from {kwargs['TableName']}: {exc}") from exc
