"""DynamoDB ``ScoringStore``: ``BatchGetItem`` in, ``TransactWriteItems`` out.

Round trips are a design budget: a fetch is one ``BatchGetItem`` per 100 keys (plus
retries of unprocessed keys under throttling), a commit one ``TransactWriteItems`` per
100 actions. Each commit's decision ``Put`` carries ``attribute_not_exists`` so that the
state updates riding in the same transaction apply at most once per transaction id.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import ConcurrentUpdateError, NotFoundError, StoreError
from chalicelib.state.store import (
    Commit,
    CommitOutcome,
    LabelChange,
    ListKey,
    ListPut,
    Snapshot,
    first_list_puts,
    list_item_key,
)
from chalicelib.state.updates import Item, ItemUpdate, merge_updates

MAX_BATCH_GET_KEYS = 100
MAX_TRANSACT_ACTIONS = 100
MAX_UNPROCESSED_RETRIES = 4
MAX_CONFLICT_RETRIES = 3
RETRY_BASE_SECONDS = 0.02


def to_dynamo(value: Any) -> dict[str, Any]:
    """Python value -> DynamoDB attribute value (boto3's ``TypeSerializer`` would import
    boto3 into every cold start, ``chalicelib/aws.py``).

    ``None``, ``bool``, ``int``, finite ``float`` (the exact decimal of its shortest
    ``repr``, which reads back as the same float), ``str``, ``bytes``, mappings (keys as
    strings) and lists or tuples of these.

    Raises
    ------
    TypeError
        Any other value, or a float that is not finite (DynamoDB has no NaN or infinity).
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"DynamoDB cannot store {value!r}")
        return {"N": str(Decimal(repr(value)))}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_dynamo(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_dynamo(v) for v in value]}
    raise TypeError(f"DynamoDB cannot store a {type(value).__name__}")


def from_dynamo(value: Mapping[str, Any]) -> Any:
    """DynamoDB attribute value -> Python value: integral numbers as ``int``, other numbers
    as ``float``, sets as ``set``.

    Raises
    ------
    StoreError
        ``value`` is not a DynamoDB attribute value.
    """
    if len(value) != 1:
        raise StoreError(f"not a DynamoDB attribute value: {sorted(value)}")
    [(kind, data)] = value.items()
    if kind in ("S", "B", "BOOL"):
        return data
    if kind == "N":
        return _number(data)
    if kind == "M":
        return {k: from_dynamo(v) for k, v in data.items()}
    if kind == "L":
        return [from_dynamo(v) for v in data]
    if kind == "NULL":
        return None
    if kind == "NS":
        return {_number(n) for n in data}
    if kind in ("SS", "BS"):
        return set(data)
    raise StoreError(f"not a DynamoDB attribute value: {kind}")


def _number(text: str) -> int | float:
    """A DynamoDB number: ``int`` when integral (``"2.0"`` too), else the nearest float."""
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)


def item_from_dynamo(raw: Mapping[str, Any]) -> Item:
    return {name: from_dynamo(value) for name, value in raw.items()}


def item_to_dynamo(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: to_dynamo(value) for name, value in item.items()}


def update_expression(update: ItemUpdate) -> dict[str, Any]:
    """``UpdateExpression`` with its name and value placeholders for ``update``."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    clauses: list[str] = []

    def name_of(attribute: str) -> str:
        placeholder = f"#n{len(names)}"
        names[placeholder] = attribute
        return placeholder

    def value_of(value: Any) -> str:
        placeholder = f":v{len(values)}"
        values[placeholder] = to_dynamo(value)
        return placeholder

    if update.add:
        clauses.append(
            "ADD " + ", ".join(f"{name_of(a)} {value_of(d)}" for a, d in update.add.items())
        )
    if update.set:
        clauses.append(
            "SET " + ", ".join(f"{name_of(a)} = {value_of(v)}" for a, v in update.set.items())
        )
    if update.remove:
        clauses.append("REMOVE " + ", ".join(name_of(a) for a in sorted(update.remove)))
    expression: dict[str, Any] = {
        "UpdateExpression": " ".join(clauses),
        "ExpressionAttributeNames": names,
    }
    if values:
        expression["ExpressionAttributeValues"] = values
    return expression


class DynamoStore:
    """``ScoringStore`` on three DynamoDB tables.

    Parameters
    ----------
    client:
        A boto3 DynamoDB client (from ``chalicelib.aws``).
    decisions_table, state_table, config_table:
        Table names.
    sleep:
        Back-off function (injected so tests need not wait).

    Attributes
    ----------
    calls:
        DynamoDB API calls made, by operation name.
    """

    def __init__(
        self,
        client: Any,
        decisions_table: str,
        state_table: str,
        config_table: str,
        sleep: Any = time.sleep,
    ) -> None:
        self.client = client
        self.decisions_table = decisions_table
        self.state_table = state_table
        self.config_table = config_table
        self.sleep = sleep
        self.calls: Counter[str] = Counter()

    # -- reads ----------------------------------------------------------------------
    def fetch(
        self,
        transaction_ids: Iterable[str] = (),
        state_keys: Iterable[str] = (),
        list_keys: Iterable[ListKey] = (),
    ) -> Snapshot:
        requests: list[tuple[str, dict[str, Any]]] = []
        requests += [
            (self.decisions_table, {"transaction_id": {"S": t}})
            for t in dict.fromkeys(transaction_ids)
        ]
        requests += [(self.state_table, {"pk": {"S": k}}) for k in dict.fromkeys(state_keys)]
        requests += [
            (self.config_table, {"pk": {"S": list_item_key(name)}, "sk": {"S": value}})
            for name, value in dict.fromkeys(list_keys)
        ]
        snapshot = Snapshot()
        for start in range(0, len(requests), MAX_BATCH_GET_KEYS):
            for table, raw in self._batch_get(requests[start : start + MAX_BATCH_GET_KEYS]):
                item = item_from_dynamo(raw)
                if table == self.decisions_table:
                    snapshot.decisions[item["transaction_id"]] = item
                elif table == self.state_table:
                    snapshot.items[item.pop("pk")] = item
                else:
                    name = item["pk"].removeprefix("list#")
                    snapshot.list_items[(name, item["sk"])] = item
        return snapshot

    def _batch_get(self, requests: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict]]:
        pending: dict[str, Any] = {}
        for table, key in requests:
            pending.setdefault(table, {"Keys": []})["Keys"].append(key)
        found: list[tuple[str, dict]] = []
        for attempt in range(MAX_UNPROCESSED_RETRIES + 1):
            response = self._read("batch_get_item", RequestItems=pending)
            for table, items in response.get("Responses", {}).items():
                found.extend((table, item) for item in items)
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                return found
            self.sleep(RETRY_BASE_SECONDS * 2**attempt)
        raise StoreError("DynamoDB left keys unprocessed after retries (throttled)")

    def get_decision(self, transaction_id: str) -> Item | None:
        response = self._read(
            "get_item",
            TableName=self.decisions_table,
            Key={"transaction_id": {"S": transaction_id}},
            ConsistentRead=True,
        )
        raw = response.get("Item")
        return item_from_dynamo(raw) if raw else None

    # -- writes ---------------------------------------------------------------------
    def commit(self, commits: Sequence[Commit]) -> CommitOutcome:
        committed: set[str] = set()
        duplicates: set[str] = set()
        for group in self._groups(commits):
            done, dup = self._commit_group(group)
            committed |= done
            duplicates |= dup
        return CommitOutcome(frozenset(committed), frozenset(duplicates))

    def _groups(self, commits: Sequence[Commit]) -> list[list[Commit]]:
        """Split commits so that each group's merged actions fit one transaction."""
        groups: list[list[Commit]] = []
        current: list[Commit] = []
        keys: set[object] = set()
        for commit in commits:
            commit_keys = {u.key for u in commit.updates} | {p.key for p in commit.list_puts}
            new_keys = commit_keys - keys
            if current and len(current) + 1 + len(keys) + len(new_keys) > MAX_TRANSACT_ACTIONS:
                groups.append(current)
                current, keys = [], set()
                new_keys = commit_keys
            current.append(commit)
            keys |= new_keys
        if current:
            groups.append(current)
        return groups

    def _commit_group(self, group: list[Commit]) -> tuple[set[str], set[str]]:
        duplicates: set[str] = set()
        seen: set[str] = set()
        pending = []
        for commit in group:
            if commit.transaction_id in seen:
                duplicates.add(commit.transaction_id)
            else:
                seen.add(commit.transaction_id)
                pending.append(commit)
        for attempt in range(MAX_CONFLICT_RETRIES + 1):
            if not pending:
                return set(), duplicates
            actions = [self._put_decision(c.record) for c in pending]
            actions += [
                self._update_state(u)
                for u in merge_updates(u for c in pending for u in c.updates)
                if not u.is_empty()
            ]
            actions += [self._put_list_item(p) for p in first_list_puts(pending)]
            try:
                self._call("transact_write_items", TransactItems=actions)
                return {c.transaction_id for c in pending}, duplicates
            except ClientError as exc:
                reasons = _cancellation_codes(exc)
                if reasons is None:
                    raise StoreError(f"DynamoDB write failed: {exc}") from exc
                lost = {
                    pending[i].transaction_id
                    for i, code in enumerate(reasons[: len(pending)])
                    if code == "ConditionalCheckFailed"
                }
                if lost:
                    duplicates |= lost
                    pending = [c for c in pending if c.transaction_id not in lost]
                    continue
                if "TransactionConflict" not in reasons or attempt == MAX_CONFLICT_RETRIES:
                    raise StoreError(f"DynamoDB transaction cancelled: {reasons}") from exc
                self.sleep(RETRY_BASE_SECONDS * 2**attempt)
        raise StoreError("DynamoDB transaction kept conflicting")

    def _put_decision(self, record: Item) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.decisions_table,
                "Item": item_to_dynamo(record),
                "ConditionExpression": "attribute_not_exists(transaction_id)",
            }
        }

    def _put_list_item(self, put: ListPut) -> dict[str, Any]:
        item = {**put.item, "pk": list_item_key(put.list_name), "sk": put.value}
        return {"Put": {"TableName": self.config_table, "Item": item_to_dynamo(item)}}

    def _update_state(self, update: ItemUpdate) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.state_table,
                "Key": {"pk": {"S": update.key}},
                **update_expression(update),
            }
        }

    def change_label(self, change: LabelChange) -> None:
        if change.previous is None:
            condition = "attribute_exists(transaction_id) AND attribute_not_exists(#label)"
            values: dict[str, Any] = {}
        else:
            condition = "attribute_exists(transaction_id) AND #label = :previous"
            values = {":previous": to_dynamo(change.previous)}
        decision_update = {
            "Update": {
                "TableName": self.decisions_table,
                "Key": {"transaction_id": {"S": change.transaction_id}},
                "UpdateExpression": "SET #label = :label, #at = :at",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#label": "label", "#at": "labelled_at"},
                "ExpressionAttributeValues": {
                    ":label": to_dynamo(change.label),
                    ":at": to_dynamo(change.labelled_at),
                    **values,
                },
            }
        }
        actions = [decision_update] + [
            self._update_state(u) for u in merge_updates(change.updates) if not u.is_empty()
        ]
        try:
            self._call("transact_write_items", TransactItems=actions)
        except ClientError as exc:
            reasons = _cancellation_codes(exc)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                if self.get_decision(change.transaction_id) is None:
                    raise NotFoundError(f"transaction {change.transaction_id} is unknown") from exc
                raise ConcurrentUpdateError(
                    f"label of {change.transaction_id} changed meanwhile"
                ) from exc
            raise StoreError(f"DynamoDB label update failed: {exc}") from exc

    def _read(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return self._call(operation, **kwargs)
        except ClientError as exc:
            raise StoreError(f"DynamoDB {operation} failed: {exc}") from exc

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One counted API call; ``ClientError`` passes through for the caller to inspect."""
        self.calls[operation] += 1
        try:
            return getattr(self.client, operation)(**kwargs)
        except ClientError:
            raise
        except BotoCoreError as exc:  # connection errors and timeouts
            raise StoreError(f"DynamoDB {operation} failed: {exc}") from exc


def _cancellation_codes(exc: ClientError) -> list[str] | None:
    """Per-action cancellation codes of a cancelled transaction, ``None`` otherwise."""
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    reasons = exc.response.get("CancellationReasons") or []
    return [reason.get("Code", "None") for reason in reasons]
