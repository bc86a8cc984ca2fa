"""Fixes to moto for long local runs (``make run``, long replays in tests).

moto is an accurate model of the APIs but not built for thousands of transactions in one
process:

* ``TransactWriteItems`` deep-copies every table it names, so that it can roll back: a
  cost proportional to the table, which makes a long replay quadratic.
  ``item_level_rollback`` keeps moto's implementation but snapshots only the items the
  transaction names (the only ones it can change) and restores those when moto cancels.
* moto's server is threaded, and its in-memory tables are not thread-safe (a concurrent
  write during that deep copy raises "dictionary changed size during iteration").
  ``serialised_dispatch`` runs DynamoDB and DynamoDB Streams requests one at a time.
* Reads are turned into JSON value by value; ``direct_json_reads`` dumps the answers of
  ``GetItem`` and ``BatchGetItem``, already in DynamoDB's JSON form, as they are.
* SQS computes all of a queue's attributes, counting its messages, for every message it
  sends and for every message it receives (to read the retention period): quadratic in
  the queue's depth, and each count reads the clock once per message (17,000 queued rows
  took hours to drain). ``direct_retention_check`` reads the retention period off the
  queue; ``one_clock_read_per_count`` counts with a single reading of the clock.

None of this changes an answer: the exactly-once and budget tests run on unpatched moto.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from typing import Any

from moto.core.utils import unix_time, unix_time_millis
from moto.dynamodb import models
from moto.dynamodb.models import DynamoDBBackend, Table
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.sqs.models import Message, Queue, SQSBackend

Setter = Callable[[Any, str, Any], None]

DIRECT_READS = frozenset({"GetItem", "BatchGetItem"})
JSON_CONTENT = "application/x-amz-json-1.0"
_DYNAMODB_LOCK = threading.RLock()


class _TablesByReference:
    """Stands in for the ``copy`` module inside moto's DynamoDB models: tables are not
    copied (the item snapshots below replace that), everything else is."""

    @staticmethod
    def deepcopy(value: Any) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value)


def _item_key(backend: DynamoDBBackend, operation: dict[str, Any]) -> dict[str, Any]:
    if "Key" in operation:
        return operation["Key"]
    table = backend.get_table(operation["TableName"])
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return {name: operation["Item"][name] for name in names}


def item_level_rollback(set_attribute: Setter = setattr) -> None:
    """Snapshot only the items a transaction names."""
    transact = DynamoDBBackend.transact_write_items

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict]) -> None:
        saved = []
        for action in transact_items:
            operation = next(iter(action.values()))
            key = _item_key(self, operation)
            current = self.get_item(operation["TableName"], key)
            saved.append((operation["TableName"], key, copy.deepcopy(current)))
        try:
            transact(self, transact_items)
        except Exception:
            for table_name, key, item in reversed(saved):
                if item is not None:
                    self.put_item(table_name, item.to_json()["Attributes"])
                elif self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            raise

    set_attribute(models, "copy", _TablesByReference)
    set_attribute(DynamoDBBackend, "transact_write_items", transact_write_items)


def direct_json_reads(set_attribute: Setter = setattr) -> None:
    """Dump read answers as they are (no binary or timestamp values in them to encode)."""
    shaped = DynamoResult.execute_result

    def execute_result(self: DynamoResult, context: Any) -> Any:
        if context.operation_model.name in DIRECT_READS:
            return 200, {"Content-Type": JSON_CONTENT}, json.dumps(self.result)
        return shaped(self, context)

    set_attribute(DynamoResult, "execute_result", execute_result)


def serialised_dispatch(set_attribute: Setter = setattr) -> None:
    """One DynamoDB (or DynamoDB Streams) request at a time."""
    for handler in (DynamoHandler, DynamoDBStreamsHandler):
        call = handler.call_action

        def call_action(self: Any, _call: Any = call) -> Any:
            with _DYNAMODB_LOCK:
                return _call(self)

        set_attribute(handler, "call_action", call_action)


def direct_retention_check(set_attribute: Setter = setattr) -> None:
    """Whether a message is within its queue's retention period, in constant time."""

    def is_message_valid_based_on_retention_period(
        self: SQSBackend, queue_name: str, message: Message
    ) -> bool:
        queue = self.get_queue(queue_name)
        retention = float(queue.message_retention_period)  # type: ignore[attr-defined]
        return retention + (message.sent_timestamp or 0) / 1000 > unix_time()

    set_attribute(
        SQSBackend,
        "is_message_valid_based_on_retention_period",
        is_message_valid_based_on_retention_period,
    )


def one_clock_read_per_count(set_attribute: Setter = setattr) -> None:
    """The queue's message lists and counts, reading the clock once per pass (moto's
    ``Message.visible`` and ``Message.delayed`` read it once per message)."""

    def available(self: Queue) -> list[Message]:
        now = unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and now >= m.delayed_until]

    def delayed(self: Queue) -> int:
        now = unix_time_millis()
        return sum(1 for m in self._messages if now < m.delayed_until)

    def not_visible(self: Queue) -> int:
        now = unix_time_millis()
        return sum(1 for m in self._messages if now <= m.visible_at)

    set_attribute(Queue, "messages", property(available))
    set_attribute(Queue, "approximate_number_of_messages_delayed", property(delayed))
    set_attribute(Queue, "approximate_number_of_messages_not_visible", property(not_visible))


def install(set_attribute: Setter = setattr) -> None:
    """Every fix above (``set_attribute`` lets tests undo them: ``monkeypatch.setattr``)."""
    item_level_rollback(set_attribute)
    direct_json_reads(set_attribute)
    serialised_dispatch(set_attribute)
    direct_retention_check(set_attribute)
    one_clock_read_per_count(set_attribute)
