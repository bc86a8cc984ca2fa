"""DynamoDB capacity as DynamoDB counts it, measured on the in-memory store.

Item sizes follow DynamoDB's rules: attribute names plus values; a string its UTF-8
length, a number about one byte per two significant digits plus one, a boolean or null
one byte, a list or map three bytes plus one per element plus the elements. A write
costs one unit per started KB of the larger of the item before and after it, twice in a
transaction; an eventually consistent read half a unit per started 4 KB (at least half).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from chalicelib.state.memory import MemoryStore
from chalicelib.state.store import Commit, CommitOutcome, ListKey, Snapshot
from chalicelib.state.updates import merge_updates

PARTITION_KEY = "pk"
TRANSACTION_FACTOR = 2


def value_size(value: Any) -> int:
    """Bytes DynamoDB counts for one attribute value."""
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int | float):
        digits = Decimal(repr(value)).normalize().as_tuple().digits
        return math.ceil(len(digits) / 2) + 1
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, dict):
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return 3 + sum(value_size(v) + 1 for v in value)
    raise TypeError(f"no DynamoDB size for {type(value).__name__}")


def item_size(key: str, item: dict[str, Any]) -> int:
    """Bytes of a state item with partition key ``key``."""
    attributes = {PARTITION_KEY: key, **item}
    return sum(len(name.encode()) + value_size(v) for name, v in attributes.items())


class MeteredStore(MemoryStore):
    """``MemoryStore`` that adds up, per state item, the capacity units DynamoDB would
    charge for what the scoring path reads and writes (``read_units``, ``write_units``)."""

    def __init__(self) -> None:
        super().__init__()
        self.read_units: Counter[str] = Counter()
        self.write_units: Counter[str] = Counter()

    def _size(self, key: str) -> int:
        return item_size(key, self.items[key]) if key in self.items else 0

    def fetch(
        self,
        transaction_ids: Iterable[str] = (),
        state_keys: Iterable[str] = (),
        list_keys: Iterable[ListKey] = (),
    ) -> Snapshot:
        keys = list(dict.fromkeys(state_keys))
        for key in keys:
            self.read_units[key] += max(math.ceil(self._size(key) / 4096), 1) / 2
        return super().fetch(transaction_ids, keys, list_keys)

    def commit(self, commits: Sequence[Commit]) -> CommitOutcome:
        fresh = [c for c in commits if c.transaction_id not in self.decisions]
        keys = {update.key for update in merge_updates(u for c in fresh for u in c.updates)}
        before = {key: self._size(key) for key in keys}
        outcome = super().commit(commits)
        for key in keys:
            kilobytes = math.ceil(max(before[key], self._size(key)) / 1024)
            self.write_units[key] += TRANSACTION_FACTOR * kilobytes
        return outcome
