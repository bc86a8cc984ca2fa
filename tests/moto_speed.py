"""Two shortcuts through moto's DynamoDB for long replays (test speed only, same answers).

* moto snapshots every table a transaction names with ``copy.deepcopy`` (once per action)
  so that it can roll back: a cost proportional to the table's size, which makes a replay
  of thousands of transactions quadratic. ``item_level_rollback`` keeps moto's own
  implementation but snapshots only the items the transaction names (the only ones it
  can change) and restores those when moto cancels the transaction.
* moto turns every read's answer into JSON by walking the API's output shape, value by
  value; ``direct_json_reads`` dumps the answers of ``GetItem`` and ``BatchGetItem``,
  already in DynamoDB's JSON form, directly.

The exactly-once and budget tests run on unpatched moto; the parity replay, which needs
the speed, uses ``fast_moto``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from moto.dynamodb import models
from moto.dynamodb.models import DynamoDBBackend, Table
from moto.dynamodb.responses import DynamoResult

DIRECT_READS = frozenset({"GetItem", "BatchGetItem"})
JSON_CONTENT = "application/x-amz-json-1.0"


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


def item_level_rollback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Install the item-level rollback for the rest of the test."""
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

    monkeypatch.setattr(models, "copy", _TablesByReference)
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", transact_write_items)


def direct_json_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dump read answers as they are (no binary or timestamp values in them to encode)."""
    shaped = DynamoResult.execute_result

    def execute_result(self: DynamoResult, context: Any) -> Any:
        if context.operation_model.name in DIRECT_READS:
            return 200, {"Content-Type": JSON_CONTENT}, json.dumps(self.result)
        return shaped(self, context)

    monkeypatch.setattr(DynamoResult, "execute_result", execute_result)


def fast_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both shortcuts, for the rest of the test."""
    item_level_rollback(monkeypatch)
    direct_json_reads(monkeypatch)
