"""Velocity statistics: small classes with ``update`` / ``get`` (river style).

A statistic reads the events of one window, oldest first; for windows that end at the
transaction (lag 0) the current transaction comes last; the engines pick the events inside
a window ``(lo, hi]``. State is a few plain numbers (a set of values for ``Distinct``) that
round-trip to a DynamoDB map (``to_item`` / ``restore``).

The same classes hold numpy arrays as state in the offline engine, which builds the state
of every row at once (prefix sums) and calls the same ``get``: one formula for both
engines. ``Count``, ``MeanAmount`` and ``FraudRate`` are also summable: counter buckets
store their state, ``add_totals`` folds in a window's bucket sums, and ``value_of`` gives
a fresh statistic's value for a window's totals, which the online engine computes once per
window for all of them.

>>> stat = AmountRatio()
>>> for amount in (10.0, 30.0, 100.0):
...     stat.update(Event(0, amount))
>>> stat.get()  # 100 against the mean of 10 and 30
5.0
>>> restore("amount_ratio", None, stat.to_item()).get()
5.0
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from operator import mul
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple, Protocol

import numpy as np

AMOUNT_STD_FLOOR = 1.0
"""Smallest standard deviation a z-score divides by (one currency unit): a customer who
always pays the same amount gets ``amount - mean`` rather than a division by zero."""


class EventLike(Protocol):
    """What a statistic reads from an event."""

    @property
    def event_time(self) -> int: ...
    @property
    def amount(self) -> float: ...
    @property
    def fraud(self) -> float: ...
    def attribute(self, name: str) -> Any:
        """The event's value of attribute ``name`` (``None`` when it has none)."""
        ...


class Event(NamedTuple):
    """One transaction as statistics see it."""

    event_time: int
    amount: float
    fraud: float = 0.0
    attributes: Mapping[str, Any] = MappingProxyType({})

    def attribute(self, name: str) -> Any:
        """The value of attribute ``name`` (``None`` when absent)."""
        return self.attributes.get(name)


class Totals(NamedTuple):
    """Count, amount sum and fraud count of a set of events (a counter bucket's state).

    ``+`` and ``-`` work field by field (not as tuple concatenation). A named tuple: a
    transaction's windows build dozens of them, several times faster than a frozen
    dataclass.
    """

    count: Any = 0.0
    amount: Any = 0.0
    fraud: Any = 0.0

    def __add__(self, other: Totals) -> Totals:  # type: ignore[override]
        return new_totals(
            (self.count + other.count, self.amount + other.amount, self.fraud + other.fraud)
        )

    def __sub__(self, other: Totals) -> Totals:
        return new_totals(
            (self.count - other.count, self.amount - other.amount, self.fraud - other.fraud)
        )


new_totals: Callable[[tuple[Any, Any, Any]], Totals] = functools.partial(tuple.__new__, Totals)
"""``Totals`` from a tuple of its three fields, built in C: a named tuple's own constructor
is a Python function, and a transaction's windows add dozens of totals."""


def divide(numerator: Any, denominator: Any, default: float = 0.0) -> Any:
    """``numerator / denominator``, ``default`` where the denominator is 0 (scalars or arrays)."""
    if isinstance(numerator, np.ndarray) or isinstance(denominator, np.ndarray):
        num, den = np.broadcast_arrays(
            np.asarray(numerator, np.float64), np.asarray(denominator, np.float64)
        )
        out = np.full(num.shape, default, dtype=np.float64)
        np.divide(num, den, out=out, where=den != 0)
        return out
    return numerator / denominator if denominator else default


def _where(condition: Any, yes: Any, no: Any) -> Any:
    if isinstance(condition, np.ndarray):
        return np.where(condition, yes, no)
    return yes if condition else no


# Scalars (the online engine) take Python's own functions: numpy's cost a microsecond
# or more on a lone number.
def _maximum(value: Any, floor: float) -> Any:
    return np.maximum(value, floor) if isinstance(value, np.ndarray) else max(value, floor)


def _sqrt(value: Any) -> Any:
    return np.sqrt(value) if isinstance(value, np.ndarray) else math.sqrt(value)


def _earlier_amounts(
    last: float | None, events: Iterable[EventLike]
) -> tuple[list[float], float] | None:
    """For statistics of the last amount against the earlier ones: the amounts that
    become earlier ones once ``events`` follow an event of amount ``last`` (``None``: no
    event yet), and the new last amount; ``None`` without events."""
    amounts = [event.amount for event in events]
    if not amounts:
        return None
    before = amounts[:-1] if last is None else [last, *amounts[:-1]]
    return before, amounts[-1]


class Statistic:
    """Base of every statistic: ``STATE`` names the fields that hold its state."""

    STATE: ClassVar[tuple[str, ...]]
    NAME: ClassVar[str]

    def update(self, event: EventLike) -> None:
        raise NotImplementedError

    def update_many(self, events: Iterable[EventLike]) -> None:
        """``update`` with each of ``events``, in order."""
        for event in events:
            self.update(event)

    def get(self) -> Any:
        raise NotImplementedError

    def to_item(self) -> dict[str, Any]:
        """The state as a DynamoDB map (plain numbers, lists of strings, nulls)."""
        return {name: getattr(self, name) for name in self.STATE}

    def load(self, item: Mapping[str, Any]) -> None:
        """Replace the state with ``item`` (what ``to_item`` wrote)."""
        for name in self.STATE:
            setattr(self, name, item[name])


class Summable(Statistic):
    """A statistic whose state is a sum of per-event ``Totals`` (storable in buckets).

    ``get`` is ``value_of`` the state's totals: one formula for a state and for totals.
    """

    @staticmethod
    def value_of(totals: Totals) -> Any:
        """The value of a fresh statistic after ``add_totals(totals)``."""
        raise NotImplementedError

    def add_totals(self, totals: Totals) -> None:
        raise NotImplementedError

    def totals(self) -> Totals:
        """The state as totals (fields the statistic does not keep are 0)."""
        raise NotImplementedError

    def get(self) -> Any:
        return self.value_of(self.totals())

    def update(self, event: EventLike) -> None:
        self.add_totals(Totals(1.0, event.amount, event.fraud))

    def update_many(self, events: Iterable[EventLike]) -> None:
        """The events' totals added at once (sums in the events' order)."""
        count, amount, fraud = 0.0, 0.0, 0.0
        for event in events:
            count += 1.0
            amount += event.amount
            fraud += event.fraud
        if count:
            self.add_totals(Totals(count, amount, fraud))


@dataclass
class Count(Summable):
    """Number of events."""

    NAME = "count"
    STATE = ("count",)
    count: Any = 0.0

    @staticmethod
    def value_of(totals: Totals) -> Any:
        return totals.count

    def add_totals(self, totals: Totals) -> None:
        self.count = self.count + totals.count

    def totals(self) -> Totals:
        return Totals(self.count)


@dataclass
class MeanAmount(Summable):
    """Mean amount of the events (0 without events)."""

    NAME = "mean_amount"
    STATE = ("count", "total")
    count: Any = 0.0
    total: Any = 0.0

    @staticmethod
    def value_of(totals: Totals) -> Any:
        return divide(totals.amount, totals.count)

    def add_totals(self, totals: Totals) -> None:
        self.count = self.count + totals.count
        self.total = self.total + totals.amount

    def totals(self) -> Totals:
        return Totals(self.count, self.total)


@dataclass
class FraudRate(Summable):
    """Share of the events labelled fraud (0 without events)."""

    NAME = "fraud_rate"
    STATE = ("count", "frauds")
    count: Any = 0.0
    frauds: Any = 0.0

    @staticmethod
    def value_of(totals: Totals) -> Any:
        return divide(totals.fraud, totals.count)

    def add_totals(self, totals: Totals) -> None:
        self.count = self.count + totals.count
        self.frauds = self.frauds + totals.fraud

    def totals(self) -> Totals:
        return Totals(self.count, 0.0, self.frauds)


@dataclass
class AmountRatio(Statistic):
    """The last event's amount over the mean amount of the events before it.

    ``1.0`` (as usual) when no earlier event, or the earlier amounts sum to 0.
    State: ``count`` and ``total`` of the earlier events, the ``last`` amount.
    """

    NAME = "amount_ratio"
    STATE = ("count", "total", "last")
    count: Any = 0.0
    total: Any = 0.0
    last: Any = None

    def update(self, event: EventLike) -> None:
        self.update_many((event,))

    def update_many(self, events: Iterable[EventLike]) -> None:
        earlier = _earlier_amounts(self.last, events)
        if earlier is not None:
            before, self.last = earlier
            self.count += len(before)
            self.total += sum(before)

    def get(self) -> Any:
        if self.last is None:
            return 1.0
        return divide(self.last * self.count, self.total, default=1.0)


@dataclass
class AmountZScore(Statistic):
    """The last amount's z-score against the earlier events' amounts.

    ``(last - mean) / max(std, AMOUNT_STD_FLOOR)`` with the population standard
    deviation of the earlier amounts; ``0.0`` with fewer than two earlier events.
    """

    NAME = "amount_zscore"
    STATE = ("count", "total", "total_sq", "last")
    count: Any = 0.0
    total: Any = 0.0
    total_sq: Any = 0.0
    last: Any = None

    def update(self, event: EventLike) -> None:
        self.update_many((event,))

    def update_many(self, events: Iterable[EventLike]) -> None:
        earlier = _earlier_amounts(self.last, events)
        if earlier is not None:
            before, self.last = earlier
            self.count += len(before)
            self.total += sum(before)
            self.total_sq += sum(map(mul, before, before))

    def get(self) -> Any:
        if self.last is None:
            return 0.0
        mean = divide(self.total, self.count)
        variance = divide(self.total_sq, self.count) - mean * mean
        std = _sqrt(_maximum(variance, 0.0))
        z = (self.last - mean) / _maximum(std, AMOUNT_STD_FLOOR)
        return _plain(_where(self.count >= 2, z, 0.0))


@dataclass
class SincePrevious(Statistic):
    """Seconds from the previous event to the last one; the window length without one."""

    NAME = "since_previous"
    STATE = ("previous", "last")
    horizon: float = 0.0
    previous: Any = None
    last: Any = None

    def update(self, event: EventLike) -> None:
        self.previous = self.last
        self.last = event.event_time

    def update_many(self, events: Iterable[EventLike]) -> None:
        """Only the last two events matter: a window's worth is read from its end."""
        tail = list(events)[-2:]
        if len(tail) == 2:
            self.previous, self.last = tail[0].event_time, tail[1].event_time
        elif tail:
            self.previous, self.last = self.last, tail[0].event_time

    def get(self) -> Any:
        if isinstance(self.previous, np.ndarray):
            return np.where(np.isnan(self.previous), self.horizon, self.last - self.previous)
        if self.previous is None or self.last is None:
            return float(self.horizon)
        return float(self.last - self.previous)


@dataclass
class SmallCount(Statistic):
    """Number of events whose amount is at most ``threshold`` (card-testing probes)."""

    NAME = "small_count"
    STATE = ("count",)
    threshold: float = 0.0
    count: Any = 0.0

    def update(self, event: EventLike) -> None:
        if event.amount <= self.threshold:
            self.count += 1

    def get(self) -> Any:
        return self.count


@dataclass
class Distinct(Statistic):
    """Number of distinct non-null values of ``attribute`` among the events."""

    NAME = "distinct"
    STATE = ("values",)
    attribute: str = ""
    values: set[Any] = field(default_factory=set)

    def update(self, event: EventLike) -> None:
        self.update_many((event,))

    def update_many(self, events: Iterable[EventLike]) -> None:
        attribute = self.attribute
        for event in events:
            value = event.attribute(attribute)
            if value is not None:
                self.values.add(value)

    def get(self) -> Any:
        return float(len(self.values))

    def to_item(self) -> dict[str, Any]:
        return {"values": sorted(self.values)}

    def load(self, item: Mapping[str, Any]) -> None:
        self.values = set(item["values"])


def _plain(value: Any) -> Any:
    """A numpy scalar as a Python float (arrays unchanged)."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return value
    return float(value)


STATISTICS: dict[str, Callable[[Any, float], Statistic]] = {
    "count": lambda argument, horizon: Count(),
    "mean_amount": lambda argument, horizon: MeanAmount(),
    "fraud_rate": lambda argument, horizon: FraudRate(),
    "amount_ratio": lambda argument, horizon: AmountRatio(),
    "amount_zscore": lambda argument, horizon: AmountZScore(),
    "since_previous": lambda argument, horizon: SincePrevious(horizon=horizon),
    "small_count": lambda argument, horizon: SmallCount(threshold=float(argument)),
    "distinct": lambda argument, horizon: Distinct(attribute=str(argument)),
}
"""Statistic name (``FeatureDef.statistic``) -> factory(argument, window seconds)."""


class UnknownStatisticError(ValueError):
    """A feature names a statistic that does not exist."""


def create(name: str, argument: Any = None, horizon: float = 0.0) -> Statistic:
    """A fresh statistic called ``name`` (``UnknownStatisticError`` when unknown)."""
    try:
        factory = STATISTICS[name]
    except KeyError:
        raise UnknownStatisticError(f"unknown statistic {name!r}") from None
    return factory(argument, horizon)


def restore(name: str, argument: Any, item: Mapping[str, Any], horizon: float = 0.0) -> Statistic:
    """A statistic called ``name`` with the state ``item`` (from ``to_item``)."""
    statistic = create(name, argument, horizon)
    statistic.load(item)
    return statistic
