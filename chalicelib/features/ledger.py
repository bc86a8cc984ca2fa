"""Ledger state: every event of an entity kept in one item, for exact windows.

Item layout (state table, partition key ``<entity>#<id>``): one attribute per event,
``e:<key>`` -> ``[event_time, amount, attribute...]``, where ``key`` is a short hash of the
transaction id, plus ``expires_at`` (TTL). Writing an event is a ``SET`` of its own
attribute, so recording the same transaction twice stores it once, and concurrent writers
never conflict. Events older than the retention, or beyond the event cap, are removed
by the next write.
"""

from __future__ import annotations

import functools
import hashlib
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any, NamedTuple

from chalicelib.features.spec import EntitySpec
from chalicelib.state.updates import ItemUpdate
from chalicelib.transaction import Transaction

EVENT_PREFIX = "e:"
EXPIRES_AT = "expires_at"
ATTRIBUTES_AT = 2
"""Where a stored event row's attribute values start (after event time and amount)."""


class LedgerEvent(NamedTuple):
    """One event of an entity: its key in the item, and what statistics read.

    ``row`` is the event as the item stores it, ``[event_time, amount, attribute...]``,
    with the entity's ``EntitySpec.attributes`` (``names``) from ``ATTRIBUTES_AT`` on; a
    row stored before an attribute was added is shorter. Ledgers keep no labels (``fraud``
    is always 0). A named tuple over the stored row: a ledger decodes dozens of events per
    transaction, and tuples are built fastest; they sort by time, then key (unique in a
    ledger).
    """

    event_time: int
    key: str
    amount: float
    row: Sequence[Any]
    names: tuple[str, ...]
    fraud: float = 0.0

    def attribute(self, name: str) -> Any:
        """The event's value of attribute ``name`` (``None``: absent or not kept)."""
        try:
            at = ATTRIBUTES_AT + self.names.index(name)
        except ValueError:
            return None
        row = self.row
        return row[at] if at < len(row) else None


_EVENT_TIME = attrgetter("event_time")
_built = tuple.__new__
"""Builds a ``LedgerEvent`` from a tuple of all its fields in C: a named tuple's own
constructor is a Python function, a third of a ledger's decoding time."""


@functools.lru_cache(maxsize=256)
def event_key(transaction_id: str) -> str:
    """Short stable key of a transaction inside a ledger item (64 bits of SHA-256).
    Scoring a payment needs it three times (its event, the event's record, the counters'
    shard): it is hashed once."""
    return hashlib.sha256(transaction_id.encode()).hexdigest()[:16]


def ledger_item_key(spec: EntitySpec, entity_id: str) -> str:
    """Partition key of the ledger item of ``entity_id``."""
    return f"{spec.name}#{entity_id}"


def events_from_item(spec: EntitySpec, item: Mapping[str, Any] | None) -> list[LedgerEvent]:
    """Decode the events stored in a ledger item, oldest first (ties by key)."""
    if not item:
        return []
    names = spec.attributes
    skip = len(EVENT_PREFIX)
    events = [
        _built(LedgerEvent, (int(row[0]), name[skip:], float(row[1]), row, names, 0.0))
        for name, row in item.items()
        if name.startswith(EVENT_PREFIX)
    ]
    events.sort()
    return events


def transaction_event(spec: EntitySpec, tx: Transaction) -> LedgerEvent:
    """The event ``tx`` adds to a ledger of ``spec``, not yet stored."""
    key = event_key(tx.transaction_id)
    row = [tx.event_time, tx.amount, *(tx.get(name) for name in spec.attributes)]
    return LedgerEvent(tx.event_time, key, tx.amount, row, spec.attributes)


def record_event(
    spec: EntitySpec,
    item_key: str,
    stored: Sequence[LedgerEvent],
    event: LedgerEvent,
    max_events: int,
) -> ItemUpdate:
    """The update that adds ``event`` to a ledger holding ``stored`` (oldest first).

    Events outside the retention measured from the newest event, and the oldest ones
    beyond ``max_events``, are removed in the same update.
    """
    newest = max([event.event_time] + [e.event_time for e in stored[-1:]])
    horizon = newest - spec.retention_seconds
    expired = bisect_right(stored, horizon, key=_EVENT_TIME)
    keep = [e for e in stored[expired:] if e.key != event.key]
    drop = {e.key for e in stored[:expired]}
    overflow = len(keep) + 1 - max_events
    if overflow > 0:
        drop.update(e.key for e in keep[:overflow])
    return ItemUpdate(
        item_key,
        set={
            f"{EVENT_PREFIX}{event.key}": list(event.row),
            EXPIRES_AT: newest + spec.retention_seconds,
        },
        remove=frozenset(f"{EVENT_PREFIX}{key}" for key in drop),
    )
