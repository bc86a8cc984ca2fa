"""Online features: from fetched state items to a feature vector, and back to updates.

The engine is pure. The scoring service asks it which state keys a transaction needs,
fetches them in one round trip (plus one more only for hot counter entities), computes
the features, and commits the updates it returns, all through a store adapter.
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import accumulate
from operator import attrgetter
from typing import Any, NamedTuple, Protocol

from chalicelib.features.counters import CounterState, label_updates
from chalicelib.features.ledger import (
    LedgerEvent,
    event_key,
    events_from_item,
    ledger_item_key,
    record_event,
    transaction_event,
)
from chalicelib.features.spec import (
    DEFAULT_CONFIG,
    EntitySpec,
    FeatureConfig,
    FeatureDef,
    WindowRef,
    feature_definitions,
)
from chalicelib.features.statistics import (
    STATISTICS,
    EventLike,
    Statistic,
    Summable,
    Totals,
    UnknownStatisticError,
    new_totals,
)
from chalicelib.state.updates import ItemUpdate
from chalicelib.transaction import Transaction

Items = Mapping[str, Mapping[str, Any]]

NIGHT_LAST_HOUR = 6
SATURDAY = 5

TRANSACTION_STATISTICS: dict[str, Callable[[Transaction], float]] = {
    "amount": lambda tx: tx.amount,
    "is_weekend": lambda tx: float(tx.timestamp.weekday() >= SATURDAY),
    "is_night": lambda tx: float(tx.timestamp.hour <= NIGHT_LAST_HOUR),
}


class Recorded(NamedTuple):
    """Where a transaction's events went: what a later label update needs."""

    shards: dict[str, int]
    updates: list[ItemUpdate]


class EntityView(Protocol):
    """One entity's history as a transaction sees it, window by window."""

    def totals(self, window: WindowRef) -> Totals:
        """Count, amount and fraud totals of the window's events (what summable
        statistics read)."""
        ...

    def events(self, window: WindowRef) -> Sequence[EventLike]:
        """The window's events, oldest first (what the other statistics read)."""
        ...


class _TransactionFeature(NamedTuple):
    """A feature of the transaction alone."""

    name: str
    compute: Callable[[Transaction], float]


class _WindowFeature(NamedTuple):
    """A feature of an entity's window: ``statistic`` makes a fresh one to feed."""

    name: str
    window: WindowRef
    statistic: Callable[[], Statistic]


class _WindowGroup(NamedTuple):
    """The features of one window. Summable ones are values of the window's totals
    (``Summable.value_of``), the others fresh statistics fed the window's events: a
    window is looked up once for all its features."""

    window: WindowRef
    summable: tuple[tuple[str, Callable[[Totals], Any]], ...]
    others: tuple[_WindowFeature, ...]


def _window_groups(features: Iterable[_TransactionFeature | _WindowFeature]) -> list[_WindowGroup]:
    """Window features grouped by window, in the order windows first appear."""
    groups: dict[WindowRef, _WindowGroup] = {}
    for feature in features:
        if isinstance(feature, _WindowFeature):
            group = groups.get(feature.window) or _WindowGroup(feature.window, (), ())
            statistic = feature.statistic()
            if isinstance(statistic, Summable):
                group = group._replace(
                    summable=(*group.summable, (feature.name, statistic.value_of))
                )
            else:
                group = group._replace(others=(*group.others, feature))
            groups[feature.window] = group
    return list(groups.values())


def _feature(definition: FeatureDef) -> _TransactionFeature | _WindowFeature:
    """How ``OnlineFeatures`` computes ``definition``, whose statistic exists."""
    window = definition.window
    if window is None:
        return _TransactionFeature(definition.name, TRANSACTION_STATISTICS[definition.statistic])
    factory = functools.partial(
        STATISTICS[definition.statistic], definition.argument, window.seconds
    )
    return _WindowFeature(definition.name, window, factory)


_AMOUNT = attrgetter("amount")
_EVENT_TIME = attrgetter("event_time")


class LedgerView:
    """Exact windows over a ledger entity's stored events plus the current one.

    A window ``(lo, hi]`` is a slice of the stored events (sorted by time), then the
    current event when it falls inside. Its totals come from prefix sums of the amounts,
    built once per transaction (ledgers keep no labels: no frauds to sum).
    """

    def __init__(self, stored: Sequence[LedgerEvent], current: LedgerEvent) -> None:
        self.stored = [e for e in stored if e.key != current.key]
        self.times = list(map(_EVENT_TIME, self.stored))
        self.current = current
        self.amount_sums = [0.0, *accumulate(map(_AMOUNT, self.stored))]

    def _slice(self, window: WindowRef) -> tuple[int, int, bool]:
        """The window's stored events, ``stored[start:end]``, and whether the current
        event falls inside."""
        lo, hi = window.bounds(self.current.event_time)
        with_current = lo < self.current.event_time <= hi
        return bisect_right(self.times, lo), bisect_right(self.times, hi), with_current

    def totals(self, window: WindowRef) -> Totals:
        start, end, with_current = self._slice(window)
        count, amount = float(end - start), self.amount_sums[end] - self.amount_sums[start]
        if with_current:
            count, amount = count + 1.0, amount + self.current.amount
        return new_totals((count, amount, 0.0))

    def events(self, window: WindowRef) -> list[LedgerEvent]:
        start, end, with_current = self._slice(window)
        events = self.stored[start:end]
        if with_current:
            events.append(self.current)
        return events


class CounterView:
    """Exact windows of a counters entity: bucket totals plus the current transaction.
    Counters keep no events (``OnlineFeatures`` serves them summable statistics only)."""

    def __init__(self, state: CounterState, amount: float) -> None:
        self.state = state
        self.current = Totals(1.0, amount, 0.0)

    def totals(self, window: WindowRef) -> Totals:
        lo, hi = window.bounds(self.state.event_time)
        totals = self.state.totals(lo, hi)
        if lo < self.state.event_time <= hi:
            totals = totals + self.current
        return totals

    def events(self, window: WindowRef) -> Sequence[EventLike]:
        raise UnknownStatisticError(f"counters entity {window.entity!r} keeps no events")


_NO_TOTALS = Totals()


class AbsentView:
    """An entity the transaction does not name (no card id): every window is empty."""

    def totals(self, window: WindowRef) -> Totals:
        return _NO_TOTALS

    def events(self, window: WindowRef) -> Sequence[EventLike]:
        return ()


class _Ledger(NamedTuple):
    """A ledger entity's decoded events (oldest first)."""

    spec: EntitySpec
    entity_id: str
    events: list[LedgerEvent]


type EntityState = _Ledger | CounterState


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
            or (d.window is not None and d.statistic not in STATISTICS)
        ]
        if unknown:
            raise UnknownStatisticError(f"features with unknown statistics: {unknown}")
        features = [_feature(d) for d in self.definitions]
        self._transaction_features = [f for f in features if isinstance(f, _TransactionFeature)]
        self._window_groups = _window_groups(features)
        counters = {spec.name for spec in config.entities if spec.kind == "counters"}
        unsummable = [
            f.name
            for group in self._window_groups
            if group.window.entity in counters
            for f in group.others
        ]
        if unsummable:
            raise UnknownStatisticError(
                f"counters entities serve summable statistics only: {unsummable}"
            )

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
            hot_second_count=self.config.hot_second_count,
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
        return self._values(tx, self._states(tx, items))

    def observe(
        self, tx: Transaction, items: Items, fraud: int = 0
    ) -> tuple[dict[str, float], Recorded]:
        """``compute`` and ``record`` of ``tx`` on the same ``items``, each stored ledger
        decoded once."""
        states = self._states(tx, items)
        return self._values(tx, states), self._record(tx, states, fraud)

    def _states(self, tx: Transaction, items: Items) -> dict[str, EntityState]:
        """Each named entity's state: its decoded ledger, or its counters."""
        states: dict[str, EntityState] = {}
        for spec, entity_id in self._entities(tx):
            if spec.kind == "ledger":
                item = items.get(ledger_item_key(spec, entity_id))
                states[spec.name] = _Ledger(spec, entity_id, events_from_item(spec, item))
            else:
                states[spec.name] = self._counters(spec, entity_id, tx, items)
        return states

    def _values(self, tx: Transaction, states: Mapping[str, EntityState]) -> dict[str, float]:
        views = self._views(tx, states)
        values: dict[str, float] = dict.fromkeys(self.names, 0.0)  # in definitions' order
        for name, compute in self._transaction_features:
            values[name] = compute(tx)
        for window, summable, others in self._window_groups:
            view = views[window.entity]
            if summable:
                totals = view.totals(window)
                for name, value_of in summable:
                    values[name] = float(value_of(totals))
            if others:
                events = view.events(window)
                for feature in others:
                    statistic = feature.statistic()
                    statistic.update_many(events)
                    values[feature.name] = float(statistic.get())
        return values

    def _views(self, tx: Transaction, states: Mapping[str, EntityState]) -> dict[str, EntityView]:
        views: dict[str, EntityView] = {spec.name: AbsentView() for spec in self.config.entities}
        for name, state in states.items():
            if isinstance(state, _Ledger):
                views[name] = LedgerView(state.events, transaction_event(state.spec, tx))
            else:
                views[name] = CounterView(state, tx.amount)
        return views

    # -- writes ---------------------------------------------------------------------
    def record(self, tx: Transaction, items: Items, fraud: int = 0) -> Recorded:
        """Updates adding ``tx`` to every entity's state, and the shards used."""
        return self._record(tx, self._states(tx, items), fraud)

    def _record(self, tx: Transaction, states: Mapping[str, EntityState], fraud: int) -> Recorded:
        key = event_key(tx.transaction_id)
        shards: dict[str, int] = {}
        updates: list[ItemUpdate] = []
        for name, state in states.items():
            if isinstance(state, _Ledger):
                item_key = ledger_item_key(state.spec, state.entity_id)
                event = transaction_event(state.spec, tx)
                updates.append(
                    record_event(
                        state.spec, item_key, state.events, event, self.config.max_ledger_events
                    )
                )
            else:
                shard, counter_updates = state.record(key, tx.amount, fraud)
                shards[name] = shard
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
