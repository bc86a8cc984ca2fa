"""Ledger state: every event of an entity kept in one item, for exact windows.

Item layout (state table, partition key ``<entity>#<id>``): one attribute per event,
``e:<key>`` -> ``[event_time, amount, attribute...]``, where ``key`` is a short hash of the
transaction id, plus ``expires_at`` (TTL). Writing an event is a ``SET`` of its own
attribute, so recording the same transaction twice stores it once, and concurrent writers
never conflict. Events older than the retention, or beyond the event cap, are removed
by the next write.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

from chalicelib.features.spec import EntitySpec
from chalicelib.state.updates import ItemUpdate

EVENT_PREFIX = "e:"
EXPIRES_AT = "expires_at"


class LedgerEvent(NamedTuple):
    """One event of an entity: its key in the item, and what statistics read.

    Ledgers keep no labels (``fraud`` is always 0); ``attributes`` maps the entity's
    ``EntitySpec.attributes`` to the transaction's values (``None`` when absent). A named
    tuple: a ledger decodes dozens of them per transaction, and tuples are built fastest;
    they sort by time, then key (unique in a ledger).
    """

    event_time: int
    key: str
    amount: float
    attributes: Mapping[str, Any] = MappingProxyType({})
    fraud: float = 0.0


def event_key(transaction_id: str) -> str:
    """Short stable key of a transaction inside a ledger item (64 bits of SHA-256)."""
    return hashlib.sha256(transaction_id.encode()).hexdigest()[:16]


def ledger_item_key(spec: EntitySpec, entity_id: str) -> str:
    """Partition key of the ledger item of ``entity_id``."""
    return f"{spec.name}#{entity_id}"


def events_from_item(spec: EntitySpec, item: Mapping[str, Any] | None) -> list[LedgerEvent]:
    """Decode the events stored in a ledger item, oldest first (ties by key)."""
    if not item:
        return []
    events = [
        LedgerEvent(
            int(value[0]),
            name[len(EVENT_PREFIX) :],
            float(value[1]),
            dict(zip(spec.attributes, value[2:], strict=False)),
        )
        for name, value in item.items()
        if name.startswith(EVENT_PREFIX)
    ]
    events.sort()
    return events


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
    keep = [e for e in stored if e.event_time > horizon and e.key != event.key]
    drop = {e.key for e in stored if e.event_time <= horizon}
    overflow = len(keep) + 1 - max_events
    if overflow > 0:
        drop.update(e.key for e in keep[:overflow])
    value = [event.event_time, event.amount, *(event.attributes.get(a) for a in spec.attributes)]
    return ItemUpdate(
        item_key,
        set={
            f"{EVENT_PREFIX}{event.key}": value,
            EXPIRES_AT: newest + spec.retention_seconds,
        },
        remove=frozenset(f"{EVENT_PREFIX}{key}" for key in drop),
    )
