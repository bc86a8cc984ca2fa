"""DynamoDB ``RuleStore`` and ``ListStore`` on the config table (layout in ``store.py``).

A rule set change is one ``TransactWriteItems``: the touched rules' revisions and the new
version (each only if absent) and the head (only if it still names the previous version).
Reading the head is one ``GetItem`` of a tiny item; a version is one ``GetItem``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import ConcurrentUpdateError, NotFoundError, StoreError
from chalicelib.rules.lists import ListEntry
from chalicelib.rules.store import ListChange, Revision, RuleSetVersion
from chalicelib.state.dynamodb import item_from_dynamo, item_to_dynamo, to_dynamo
from chalicelib.state.store import list_item_key

RULESET_KEY = "ruleset"
HEAD_SORT_KEY = "head"
MAX_BATCH_WRITE = 25
MAX_UNPROCESSED_RETRIES = 4
RETRY_BASE_SECONDS = 0.05


def version_sort_key(version: int) -> str:
    """Sort key of rule set version ``version`` (zero-padded: listed in order)."""
    return f"v#{version:010d}"


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


class _ConfigTable:
    """Calls to the config table, with botocore errors wrapped as ``StoreError``."""

    def __init__(self, client: Any, table: str, sleep: Callable[[float], None]) -> None:
        self.client = client
        self.table = table
        self.sleep = sleep

    def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self.client, operation)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"DynamoDB {operation} on {self.table} failed: {exc}") from exc

    def transact(self, actions: list[dict[str, Any]]) -> bool:
        """Run a transaction; ``False`` when one of its conditions failed.

        Raises
        ------
        ConcurrentUpdateError
            It was cancelled by a concurrent transaction (retry from a fresh read).
        StoreError
            Any other failure.
        """
        try:
            self.call("transact_write_items", TransactItems=actions)
        except StoreError as exc:
            cause = exc.__cause__
            response = cause.response if isinstance(cause, ClientError) else {}
            if response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            codes = [reason.get("Code") for reason in response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in codes:
                return False
            raise ConcurrentUpdateError(f"a concurrent change to {self.table} won") from exc
        return True

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = self.call(
            "get_item", TableName=self.table, Key=_key(pk, sk), ConsistentRead=True
        )
        raw = response.get("Item")
        return item_from_dynamo(raw) if raw else None

    def put_action(self, item: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.table, "Item": item_to_dynamo(item)}
        if condition:
            put["ConditionExpression"] = condition
        return {"Put": put}

    def query(
        self, pk: str, limit: int, *, newest_first: bool, prefix: str = "", after: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Items of partition ``pk`` (sort keys starting with ``prefix``), one page."""
        values = {":pk": {"S": pk}}
        condition = "pk = :pk"
        if prefix:
            values[":prefix"] = {"S": prefix}
            condition += " AND begins_with(sk, :prefix)"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
            "Limit": limit,
            "ConsistentRead": True,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = _key(pk, after)
        response = self.call("query", **kwargs)
        last = response.get("LastEvaluatedKey")
        return [item_from_dynamo(raw) for raw in response["Items"]], (
            last["sk"]["S"] if last else None
        )


class DynamoRuleStore:
    """``RuleStore`` on the config table.

    Parameters
    ----------
    client:
        A boto3 DynamoDB client (from ``chalicelib.aws``).
    table:
        The config table's name.
    """

    def __init__(
        self, client: Any, table: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._table = _ConfigTable(client, table, sleep)

    def head(self) -> int:
        item = self._table.get(RULESET_KEY, HEAD_SORT_KEY)
        return int(item["version"]) if item else 0

    def read(self, version: int) -> RuleSetVersion:
        item = self._table.get(RULESET_KEY, version_sort_key(version))
        if item is None:
            raise NotFoundError(f"rule set version {version} does not exist")
        return RuleSetVersion.from_dict(item)

    def write(self, version: RuleSetVersion, new_revisions: Sequence[Revision]) -> None:
        table = self._table
        absent = "attribute_not_exists(pk)"
        actions = [
            table.put_action(
                {"pk": f"rule#{r.rule_id}", "sk": version_sort_key(r.version), **r.to_dict()},
                absent,
            )
            for r in new_revisions
        ]
        actions.append(
            table.put_action(
                {"pk": RULESET_KEY, "sk": version_sort_key(version.version), **version.to_dict()},
                absent,
            )
        )
        head = table.put_action(
            {"pk": RULESET_KEY, "sk": HEAD_SORT_KEY, "version": version.version}
        )
        previous = version.version - 1
        if previous == 0:
            head["Put"]["ConditionExpression"] = absent
        else:
            head["Put"]["ConditionExpression"] = "version = :previous"
            head["Put"]["ExpressionAttributeValues"] = {":previous": to_dynamo(previous)}
        actions.append(head)
        if not table.transact(actions):
            raise ConcurrentUpdateError(f"the rule set is no longer at version {previous}")

    def versions(self, limit: int) -> list[RuleSetVersion]:
        items, _ = self._table.query(RULESET_KEY, limit, newest_first=True, prefix="v#")
        return [RuleSetVersion.from_dict(item) for item in items]

    def history(self, rule_id: str, limit: int) -> list[Revision]:
        items, _ = self._table.query(f"rule#{rule_id}", limit, newest_first=True)
        return [Revision.from_dict(item) for item in items]


class DynamoListStore:
    """``ListStore`` on the config table: items under ``list#<name>``, the change log under
    ``listlog#<name>``."""

    def __init__(
        self, client: Any, table: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._table = _ConfigTable(client, table, sleep)

    def put(self, list_name: str, entries: Sequence[ListEntry], change: ListChange) -> None:
        pk = list_item_key(list_name)
        items = [{**entry.to_item(), "pk": pk, "sk": entry.key} for entry in entries]
        items.append(_change_item(change))
        for start in range(0, len(items), MAX_BATCH_WRITE):
            self._batch_write(items[start : start + MAX_BATCH_WRITE])

    def _batch_write(self, items: list[dict[str, Any]]) -> None:
        table = self._table
        pending = {table.table: [{"PutRequest": {"Item": item_to_dynamo(i)}} for i in items]}
        for attempt in range(MAX_UNPROCESSED_RETRIES + 1):
            response = table.call("batch_write_item", RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                return
            table.sleep(RETRY_BASE_SECONDS * 2**attempt)
        raise StoreError("DynamoDB left list items unwritten after retries (throttled)")

    def get(self, list_name: str, key: str) -> ListEntry | None:
        item = self._table.get(list_item_key(list_name), key)
        return ListEntry.from_item(key, item) if item else None

    def delete(self, list_name: str, key: str, change: ListChange) -> bool:
        table = self._table
        delete = {
            "Delete": {
                "TableName": table.table,
                "Key": _key(list_item_key(list_name), key),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        return table.transact([delete, table.put_action(_change_item(change))])

    def page(
        self, list_name: str, limit: int, after: str | None
    ) -> tuple[list[ListEntry], str | None]:
        items, last = self._table.query(
            list_item_key(list_name), limit, newest_first=False, after=after
        )
        return [ListEntry.from_item(item["sk"], item) for item in items], last

    def changes(self, list_name: str, limit: int) -> list[ListChange]:
        items, _ = self._table.query(f"listlog#{list_name}", limit, newest_first=True)
        return [ListChange.from_dict(item) for item in items]


def _change_item(change: ListChange) -> dict[str, Any]:
    sort_key = f"{change.at}#{secrets.token_hex(4)}"
    return {**change.to_dict(), "pk": f"listlog#{change.list_name}", "sk": sort_key}
