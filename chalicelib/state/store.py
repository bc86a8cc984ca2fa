"""The scoring store interface: one read round trip in, one atomic write round trip out.

A ``Commit`` is everything one transaction writes: its decision record, written only if no
decision with that transaction id exists, and its state updates, applied only together
with that record. This is what makes counting exactly-once under at-least-once delivery:
a redelivered or concurrently delivered transaction finds its record present and writes
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from chalicelib.state.updates import Item, ItemUpdate

ListKey = tuple[str, str]  # (list name, value)


@dataclass(frozen=True)
class Snapshot:
    """What one fetch returned: decisions by transaction id, state items by key, list items."""

    decisions: dict[str, Item] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    list_items: dict[ListKey, Item] = field(default_factory=dict)

    def merged(self, other: Snapshot) -> Snapshot:
        return Snapshot(
            {**self.decisions, **other.decisions},
            {**self.items, **other.items},
            {**self.list_items, **other.list_items},
        )


class ListPut(NamedTuple):
    """A list item (config table) written with a transaction's decision: a suspension."""

    list_name: str
    value: str
    item: Item

    @property
    def key(self) -> ListKey:
        return (self.list_name, self.value)


class Commit(NamedTuple):
    """One transaction's writes: ``record`` (only if absent) and, with it, ``updates`` to
    state items and ``list_puts`` (list items replaced whole)."""

    transaction_id: str
    record: Item
    updates: Sequence[ItemUpdate]
    list_puts: Sequence[ListPut] = ()


class CommitOutcome(NamedTuple):
    """Which commits were written and which found their decision already stored."""

    committed: frozenset[str]
    duplicates: frozenset[str]


class LabelChange(NamedTuple):
    """Set a stored decision's label from ``previous`` (``None``: unlabelled) to ``label``."""

    transaction_id: str
    previous: bool | None
    label: bool
    labelled_at: str
    updates: Sequence[ItemUpdate]


class ScoringStore(Protocol):
    """Storage used by the scoring path (implemented for DynamoDB and in memory)."""

    def fetch(
        self,
        transaction_ids: Iterable[str] = (),
        state_keys: Iterable[str] = (),
        list_keys: Iterable[ListKey] = (),
    ) -> Snapshot:
        """Read decisions, state items and list items in as few round trips as possible."""
        ...

    def commit(self, commits: Sequence[Commit]) -> CommitOutcome:
        """Write each commit atomically; commits whose decision exists are skipped."""
        ...

    def get_decision(self, transaction_id: str) -> Item | None:
        """The stored decision record, or ``None``."""
        ...

    def change_label(self, change: LabelChange) -> None:
        """Apply a label change atomically with its state updates.

        Raises
        ------
        ConcurrentUpdateError
            The stored label is no longer ``change.previous`` (re-read and retry).
        NotFoundError
            No decision is stored for the transaction.
        """
        ...


def first_list_puts(commits: Iterable[Commit]) -> list[ListPut]:
    """One put per list item, the first commit's (a transaction writes an item once)."""
    puts: dict[ListKey, ListPut] = {}
    for commit in commits:
        for put in commit.list_puts:
            puts.setdefault(put.key, put)
    return list(puts.values())


def list_item_key(name: str) -> str:
    """Partition key of a list's items in the config table."""
    return f"list#{name}"
