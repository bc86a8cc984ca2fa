"""Stored decisions of a day, read back through the decisions table's ``by_day`` index.

The index is partitioned by ``day_bucket`` (``YYYY-MM-DD#NN``, NN in 00..15, spread by a
hash of the transaction id: ``scoring.DAY_BUCKETS``) and sorted by ``event_time``: a day
is 16 queries, paged. The day is the transaction's own (its timestamp), not the day it
was scored. Used by the daily report, the training export and ``fraudctl model compare``;
never on the scoring path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import StoreError
from chalicelib.scoring import DAY_BUCKETS
from chalicelib.state.dynamodb import item_from_dynamo
from chalicelib.state.updates import Item

DAY_INDEX = "by_day"


def days_between(start: date, end: date) -> Iterator[date]:
    """Every day of ``[start, end)``."""
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)


class DecisionLog:
    """Reads a day's decisions (``client``: boto3 DynamoDB, from ``chalicelib.aws``)."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def day(self, day: date, fields: Sequence[str] = (), labelled_only: bool = False) -> list[Item]:
        """Decisions dated ``day`` in event-time order per bucket (buckets in turn).

        Parameters
        ----------
        fields:
            Attributes to read (all when empty).
        labelled_only:
            Only decisions that carry an analyst's label.

        Raises
        ------
        StoreError
            DynamoDB refused a query (no table or index, no access, throttled for good).
        """
        base: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": DAY_INDEX,
            "KeyConditionExpression": "day_bucket = :bucket",
        }
        names = {f"#f{i}": name for i, name in enumerate(fields)}  # some are reserved words
        if labelled_only:
            names["#label"] = "label"
            base["FilterExpression"] = "attribute_exists(#label)"
        if fields:
            base["ProjectionExpression"] = ", ".join(n for n in names if n != "#label")
        if names:
            base["ExpressionAttributeNames"] = names
        records: list[Item] = []
        for bucket in range(DAY_BUCKETS):
            values = {":bucket": {"S": f"{day.isoformat()}#{bucket:02d}"}}
            records += self._query_all({**base, "ExpressionAttributeValues": values})
        return records

    def days(
        self, start: date, end: date, fields: Sequence[str] = (), labelled_only: bool = False
    ) -> list[Item]:
        """Decisions dated in ``[start, end)``, day by day (see ``day``)."""
        return [
            record
            for day in days_between(start, end)
            for record in self.day(day, fields, labelled_only)
        ]

    def _query_all(self, kwargs: dict[str, Any]) -> list[Item]:
        items: list[Item] = []
        try:
            while True:
                page = self.client.query(**kwargs)
                items += [item_from_dynamo(raw) for raw in page["Items"]]
                if "LastEvaluatedKey" not in page:
                    return items
                kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"cannot read decisions from {self.table}: {exc}") from exc
