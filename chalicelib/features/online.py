"""Online features: from fetched state items to a feature vector, and back to updates.

The engine is pure. The scoring service asks it which state keys a transaction needs,
fetches them in one round trip (plus one more only for hot counter entities), computes
the features, and commits the updates it returns, all through a store adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from chalicelib.features.counters import CounterState, Totals, label_updates
from chalicelib.features.ledger import (
    LedgerEvent,
    event_key,
    events_from_item,
    ledger_item_key,
    record_event,
)
from chalicelib.features.spec import (
    DEFAULT_CONFIG,
    SECONDS_PER_DAY,
    EntitySpec,
    FeatureConfig,
    FeatureDef,
    WindowRef,
    feature_definitions,
)
from chalicelib.state.updates import ItemUpdate
from chalicelib.transaction import Transaction

Items = Mapping[str, Mapping[str, Any]]

NIGHT_LAST_HOUR = 6
SATURDAY = 5


def _ratio(numerator: Any, denominator: Any) -> Any:
    """``numerator / denominator``, 0 where the denominator is 0 (scalars or arrays)."""
    if isinstance(denominator, np.ndarray):
        out = np.zeros(np.broadcast(numerator, denominator).shape)
        return np.divide(numerator, denominator, out=out, where=denominator != 0)
    return numerator / denominator if denominator else 0.0


# Each statistic reads a window's ``Totals``; it works on scalars (online) and on numpy
# arrays of totals (offline), so both paths share one definition.
WINDOW_STATISTICS: dict[str, Callable[[Totals], Any]] = {
    "count": lambda totals: totals.count,
    "mean_amount": lambda totals: _ratio(totals.amount, totals.count),
    "fraud_rate": lambda totals: _ratio(totals.fraud, totals.count),
}
TRANSACTION_STATISTICS: dict[str, Callable[[Transaction], float]] = {
    "amount": lambda tx: tx.amount,
    "is_weekend": lambda tx: float(tx.timestamp.weekday() >= SATURDAY),
    "is_night": lambda tx: float(tx.timestamp.hour <= NIGHT_LAST_HOUR),
}


@dataclass(frozen=True)
class Recorded:
    """Where a transaction's events went: what a later label update needs."""

    shards: dict[str, int]
    updates: list[ItemUpdate]


class WindowSource(Protocol):
    """Anything that totals an entity's events in a window ``(lo, hi]``."""

    def totals(self, lo: int, hi: int) -> Totals: ...


class LedgerWindows:
    """Exact windows over a ledger entity's stored events plus the current one."""

    def __init__(self, events: Sequence[LedgerEvent]) -> None:
        self.events = events

    def totals(self, lo: int, hi: int) -> Totals:
        count = 0
        amount = 0.0
        for event in self.events:
            if lo < event.event_time <= hi:
                count += 1
                amount += event.amount
        return Totals(float(count), amount, 0.0)


class OnlineFeatures:
    """Computes ``definitions`` for transactions from state items of ``config``'s entities.

    Parameters
    ----------
    config:
        Entities, windows and state limits.
    definitions:
        The features to compute (default: every feature of ``config``).
    """

    def __init__(
        self,
        config: FeatureConfig = DEFAULT_CONFIG,
        definitions: Sequence[FeatureDef] | None = None,
    ) -> None:
        self.config = config
        self.definitions = tuple(definitions or feature_definitions(config))
        self.names = tuple(d.name for d in self.definitions)
        unknown = [
            d.name
            for d in self.definitions
            if (d.window is None and d.statistic not in TRANSACTION_STATISTICS)
            or (d.window is not None and d.statistic not in WINDOW_STATISTICS)
        ]
        if unknown:
            raise ValueError(f"features with unknown statistics: {unknown}")

    # -- reads ----------------------------------------------------------------------
    def _entities(self, tx: Transaction) -> Iterable[tuple[EntitySpec, str]]:
        for spec in self.config.entities:
            entity_id = tx.get(spec.key_field)
            if entity_id is not None:
                yield spec, str(entity_id)

    def _counters(
        self, spec: EntitySpec, entity_id: str, tx: Transaction, items: Items
    ) -> CounterState:
        return CounterState(
            spec,
            entity_id,
            tx.event_time,
            items,
            hot_shards=self.config.hot_shards,
            hot_minute_count=self.config.hot_minute_count,
        )

    def read_keys(self, tx: Transaction) -> list[str]:
        """State keys of the first round trip for ``tx``."""
        keys: list[str] = []
        for spec, entity_id in self._entities(tx):
            if spec.kind == "ledger":
                keys.append(ledger_item_key(spec, entity_id))
            else:
                keys.extend(self._counters(spec, entity_id, tx, {}).read_keys())
        return keys

    def extra_read_keys(self, tx: Transaction, items: Items) -> list[str]:
        """Keys of a second round trip, non-empty only for hot counter entities."""
        keys: list[str] = []
        for spec, entity_id in self._entities(tx):
            if spec.kind == "counters":
                keys.extend(self._counters(spec, entity_id, tx, items).extra_read_keys())
        return keys

    # -- features -------------------------------------------------------------------
    def compute(self, tx: Transaction, items: Items) -> dict[str, float]:
        """Every feature of ``tx`` given the fetched ``items`` (missing items are empty)."""
        windows = self._window_totals(tx, items)
        values: dict[str, float] = {}
        for definition in self.definitions:
            if definition.window is None:
                values[definition.name] = TRANSACTION_STATISTICS[definition.statistic](tx)
            else:
                totals = windows.get(definition.window, Totals())
                values[definition.name] = WINDOW_STATISTICS[definition.statistic](totals)
        return values

    def _window_totals(self, tx: Transaction, items: Items) -> dict[WindowRef, Totals]:
        totals: dict[WindowRef, Totals] = {}
        current = LedgerEvent(event_key(tx.transaction_id), tx.event_time, tx.amount)
        for spec, entity_id in self._entities(tx):
            if spec.kind == "ledger":
                stored = events_from_item(items.get(ledger_item_key(spec, entity_id)))
                source: WindowSource = LedgerWindows([*stored, current])
                extra = Totals()
            else:
                source = self._counters(spec, entity_id, tx, items)
                extra = Totals(1.0, tx.amount, 0.0)
            for days in spec.windows_days:
                hi = tx.event_time - spec.lag_days * SECONDS_PER_DAY
                lo = hi - days * SECONDS_PER_DAY
                window_totals = source.totals(lo, hi)
                if spec.kind == "counters" and lo < tx.event_time <= hi:
                    window_totals = window_totals + extra
                totals[WindowRef(spec.name, days, spec.lag_days)] = window_totals
        return totals

    # -- writes ---------------------------------------------------------------------
    def record(self, tx: Transaction, items: Items, fraud: int = 0) -> Recorded:
        """Updates adding ``tx`` to every entity's state, and the shards used."""
        key = event_key(tx.transaction_id)
        shards: dict[str, int] = {}
        updates: list[ItemUpdate] = []
        for spec, entity_id in self._entities(tx):
            if spec.kind == "ledger":
                item_key = ledger_item_key(spec, entity_id)
                attributes = tuple(tx.get(name) for name in spec.attributes)
                event = LedgerEvent(key, tx.event_time, tx.amount, attributes)
                stored = events_from_item(items.get(item_key))
                updates.append(
                    record_event(spec, item_key, stored, event, self.config.max_ledger_events)
                )
            else:
                state = self._counters(spec, entity_id, tx, items)
                shard, counter_updates = state.record(key, tx.amount, fraud)
                shards[spec.name] = shard
                updates.extend(counter_updates)
        return Recorded(shards, updates)

    def relabel(
        self,
        entity_ids: Mapping[str, str],
        shards: Mapping[str, int],
        event_time: int,
        fraud_delta: int,
    ) -> list[ItemUpdate]:
        """Updates moving a recorded transaction's fraud count by ``fraud_delta``.

        ``entity_ids`` maps entity name to id and ``shards`` entity name to the shard the
        transaction was written to (both kept in the decision record).
        """
        updates: list[ItemUpdate] = []
        for spec in self.config.entities:
            entity_id = entity_ids.get(spec.name)
            if spec.kind == "counters" and entity_id is not None:
                updates.extend(
                    label_updates(
                        spec, entity_id, shards.get(spec.name, 0), event_time, fraud_delta
                    )
                )
        return updates
