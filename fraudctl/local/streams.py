"""Local stand-ins for Lambda's DynamoDB stream event source and EventBridge schedules.

``StreamPoller`` reads a table's stream shard by shard and hands each page of records to
the app's ``@app.on_dynamodb_record`` handler as the Lambda event it would receive. As on
AWS, a handler that reports a ``batchItemFailures`` entry gets the records from that one
on again at the next poll, and one that raises gets the whole page again.

``Schedule`` calls an ``@app.schedule`` handler every ``interval`` seconds with an
EventBridge "Scheduled Event".

Used by the local worker (``make run``) and by the tests, so that both exercise the path
the deployed functions take.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.config import Config

logger = logging.getLogger("fraudctl.worker")

PAGE_SIZE = 100
# In-process moto (tests) routes stream calls by the classic endpoint only; a moto server
# or AWS ignore the difference.
STREAMS_CONFIG = Config(account_id_endpoint_mode="disabled")

Handler = Callable[[dict[str, Any], Any], Any]


def lambda_context(name: str) -> Any:
    """A Lambda context for a locally invoked handler."""
    from chalice.local import LambdaContext

    return LambdaContext(name, memory_size=1024)


def stream_event(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    """The Lambda event of ``records`` as ``GetRecords`` returned them."""
    events = []
    for record in records:
        change = dict(record["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            change["ApproximateCreationDateTime"] = created.timestamp()
        events.append({**record, "dynamodb": change, "eventSourceARN": stream_arn})
    return {"Records": events}


@dataclass
class StreamPoller:
    """Feeds a DynamoDB stream to a stream handler (see the module documentation).

    Parameters
    ----------
    streams:
        boto3 ``dynamodbstreams`` client (``STREAMS_CONFIG``).
    stream_arn:
        The table's stream.
    handler:
        ``handler(event, context)``: the Chalice stream handler.
    name:
        The function's name (its Lambda context).
    """

    streams: Any
    stream_arn: str
    handler: Handler
    name: str = "publish_alerts"
    _positions: dict[str, dict[str, str]] = field(default_factory=dict)

    def poll_once(self) -> int:
        """Read one page of every shard and hand it over; returns the records handed over."""
        handed = 0
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in shards["Shards"]:
            shard_id = shard["ShardId"]
            position = self._positions.get(shard_id, {"ShardIteratorType": "TRIM_HORIZON"})
            iterator = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, **position
            )["ShardIterator"]
            records = self.streams.get_records(ShardIterator=iterator, Limit=PAGE_SIZE)["Records"]
            if not records:
                continue
            handed += len(records)
            self._positions[shard_id] = self._next_position(records)
        return handed

    def _next_position(self, records: list[dict[str, Any]]) -> dict[str, str]:
        first = records[0]["dynamodb"]["SequenceNumber"]
        try:
            result = self.handler(stream_event(records, self.stream_arn), lambda_context(self.name))
        except Exception:  # the whole invocation failed: Lambda hands the page over again
            logger.exception("stream handler raised; its records are handed over again")
            return {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": first}
        failures = (result or {}).get("batchItemFailures", [])
        if failures:
            failed = min(int(f["itemIdentifier"]) for f in failures)
            return {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": str(failed)}
        last = records[-1]["dynamodb"]["SequenceNumber"]
        return {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}


def scheduled_event(rule: str, region: str, now: datetime | None = None) -> dict[str, Any]:
    """The EventBridge event a schedule rule sends its target."""
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": moment,
        "region": region,
        "resources": [f"arn:aws:events:{region}:000000000000:rule/{rule}"],
        "detail": {},
    }


@dataclass
class Schedule:
    """Calls a scheduled handler every ``interval`` seconds (the first call at once)."""

    name: str
    handler: Handler
    interval: float
    region: str
    clock: Callable[[], float] = time.monotonic
    _next: float = 0.0

    def run_if_due(self) -> Mapping[str, Any] | None:
        """Run the handler if its time has come; returns its result, or None."""
        now = self.clock()
        if now < self._next:
            return None
        self._next = now + self.interval
        try:
            return self.handler(scheduled_event(self.name, self.region), lambda_context(self.name))
        except Exception:  # EventBridge would retry; the next run does here
            logger.exception("scheduled function %s raised", self.name)
            return None
