"""Fixes to moto's DynamoDB for long local runs (``make run``, long replays in tests).

moto's DynamoDB is an accurate model of the API but not built for thousands of
transactions in one process:

* ``TransactWriteItems`` deep-copies every table it names, so that it can roll back: a
  cost proportional to the table, which makes a long replay quadratic.
  ``item_level_rollback`` keeps moto's implementation but snapshots only the items the
  transaction names (the only ones it can change) and restores those when moto cancels.
* moto's server is threaded, and its in-memory tables are not thread-safe (a concurrent
  write during that deep copy raises "dictionary changed size during iteration").
  ``serialised_dispatch`` runs DynamoDB and DynamoDB Streams requests one at a time.
* Reads are turned into JSON value by value; ``direct_json_reads`` dumps the answers of
  ``GetItem`` and ``BatchGetItem``, already in DynamoDB's JSON form, as they are.

None of this changes an answer: the exactly-once and budget tests run on unpatched moto.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb import models
from moto.dynamodb.models import DynamoDBBackend, Table
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

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


def install(set_attribute: Setter = setattr) -> None:
    """Every fix above (``set_attribute`` lets tests undo them: ``monkeypatch.setattr``)."""
    item_level_rollback(set_attribute)
    direct_json_reads(set_attribute)
    serialised_dispatch(set_attribute)
