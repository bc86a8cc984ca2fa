"""In-memory ``ScoringStore``: the same semantics as DynamoDB, for unit tests, benchmarks
and offline replays (``fraudctl score``).
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Iterable, Sequence

from chalicelib.errors import ConcurrentUpdateError, NotFoundError
from chalicelib.state.store import (
    Commit,
    CommitOutcome,
    LabelChange,
    ListKey,
    Snapshot,
    first_list_puts,
)
from chalicelib.state.updates import Item, apply_update, merge_updates


def _copy[T](value: T) -> T:
    """A deep copy, as a DynamoDB read returns: nothing shared with the stored item
    (a pickle round trip: several times faster than ``copy.deepcopy`` on items)."""
    pickled = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    copied: T = pickle.loads(pickled)  # noqa: S301 - bytes made on the line above
    return copied


class MemoryStore:
    """Dictionaries standing in for the decisions, state and config tables.

    ``calls`` counts operations by name, as the DynamoDB store counts round trips.
    """

    def __init__(self) -> None:
        self.decisions: dict[str, Item] = {}
        self.items: dict[str, Item] = {}
        self.list_items: dict[ListKey, Item] = {}
        self.calls: Counter[str] = Counter()

    def fetch(
        self,
        transaction_ids: Iterable[str] = (),
        state_keys: Iterable[str] = (),
        list_keys: Iterable[ListKey] = (),
    ) -> Snapshot:
        self.calls["fetch"] += 1
        return Snapshot(
            {t: _copy(self.decisions[t]) for t in transaction_ids if t in self.decisions},
            # updates replace top-level attributes only: a copy of each item isolates it
            {k: dict(self.items[k]) for k in state_keys if k in self.items},
            {k: dict(self.list_items[k]) for k in list_keys if k in self.list_items},
        )

    def commit(self, commits: Sequence[Commit]) -> CommitOutcome:
        self.calls["commit"] += 1
        committed, duplicates = set(), set()
        fresh = []
        for commit in commits:
            if commit.transaction_id in self.decisions or commit.transaction_id in committed:
                duplicates.add(commit.transaction_id)
                continue
            committed.add(commit.transaction_id)
            fresh.append(commit)
        for commit in fresh:
            self.decisions[commit.transaction_id] = _copy(commit.record)
        for update in merge_updates(u for commit in fresh for u in commit.updates):
            apply_update(self.items.setdefault(update.key, {}), update)
        for put in first_list_puts(fresh):
            self.list_items[put.key] = _copy(put.item)
        return CommitOutcome(frozenset(committed), frozenset(duplicates))

    def get_decision(self, transaction_id: str) -> Item | None:
        self.calls["get_decision"] += 1
        record = self.decisions.get(transaction_id)
        return _copy(record) if record is not None else None

    def change_label(self, change: LabelChange) -> None:
        self.calls["change_label"] += 1
        record = self.decisions.get(change.transaction_id)
        if record is None:
            raise NotFoundError(f"transaction {change.transaction_id} is unknown")
        if record.get("label") != change.previous:
            raise ConcurrentUpdateError(f"label of {change.transaction_id} changed meanwhile")
        record["label"] = change.label
        record["labelled_at"] = change.labelled_at
        for update in merge_updates(change.updates):
            apply_update(self.items.setdefault(update.key, {}), update)
