"""Counter state: exact per-second counts of a busy entity in a four-level hierarchy.

An event at second ``x`` of day ``D`` (days since the epoch), hour ``h``, minute ``m``,
second ``s`` adds its count, amount and fraud label to one bucket on each level:

========  ==============================  =========================
level     partition key                   buckets (attribute suffix)
========  ==============================  =========================
rolling   ``<entity>#<id>#s<k>#r``        day number ``D``
day       ``<entity>#<id>#s<k>#d<D>``     hour ``h`` (0-23)
hour      ``<entity>#<id>#s<k>#h<D>.<h>`` minute ``m`` (0-59)
minute    ``...#s<k>#m<D>.<h>.<m>``       second ``s`` (0-59)
========  ==============================  =========================

Each bucket holds ``c<b>`` (count), ``a<b>`` (amount sum) and ``f<b>`` (fraud count), all
written with ``ADD``. Every item stays small (at most 60 buckets), so a write costs about
one write unit whatever the entity's rate.

The number of events up to and including second ``x`` in day ``D`` is the sum of the day
item's hours before ``h``, the hour item's minutes before ``m`` and the minute item's
seconds up to ``s``: three items. A window ``(lo, hi]`` is then exact to the second:
whole days from the rolling item plus the two boundary prefixes.

Write sharding: an entity whose first shard saw ``hot_minute_count`` events in the
current minute, or ``hot_second_count`` in the current second, is *hot*; for
``HOT_HOLD_SECONDS`` afterwards its events spread over ``hot_shards`` shards
(``k = hash(transaction_id) mod shards``) and readers sum all shards for as long as
sharded events can fall inside a window.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from chalicelib.features.spec import SECONDS_PER_DAY, EntitySpec
from chalicelib.features.statistics import Totals, new_totals
from chalicelib.state.updates import ItemUpdate

COUNT, AMOUNT, FRAUD = "c", "a", "f"
EXPIRES_AT = "expires_at"
HOT_AT = "hot_at"
HOT_HOLD_SECONDS = 3_600

Items = Mapping[str, Mapping[str, Any]]


class _Moment(NamedTuple):
    day: int
    hour: int
    minute: int
    second: int

    @classmethod
    def of(cls, event_time: int) -> _Moment:
        day, rest = divmod(event_time, SECONDS_PER_DAY)
        hour, rest = divmod(rest, 3_600)
        # tuple.__new__ builds it in C: a named tuple's own constructor is Python.
        return tuple.__new__(cls, (day, hour, *divmod(rest, 60)))


class CounterKeys:
    """Partition keys of one counters entity."""

    def __init__(self, spec: EntitySpec, entity_id: str) -> None:
        self.spec = spec
        self.base = f"{spec.name}#{entity_id}"
        self._rolling_head = f"{self.base}#s0#r"

    def rolling(self, shard: int) -> str:
        return self._rolling_head if shard == 0 else f"{self.base}#s{shard}#r"

    def boundary(self, shard: int, event_time: int) -> tuple[str, str, str]:
        """Keys of the day, hour and minute items containing second ``event_time``."""
        return _boundary_keys(self.base, shard, event_time)

    def window_bounds(self, event_time: int) -> list[int]:
        """Boundary seconds of every window of a transaction at ``event_time``."""
        hi = event_time - self.spec.lag_days * SECONDS_PER_DAY
        return [hi] + [hi - days * SECONDS_PER_DAY for days in self.spec.windows_days]

    def read_keys(self, event_time: int, shards: Iterable[int]) -> list[str]:
        """Every key needed to compute the windows of a transaction at ``event_time``."""
        keys = []
        for shard in shards:
            keys.append(self.rolling(shard))
            for bound in self.window_bounds(event_time):
                keys.extend(self.boundary(shard, bound))
        return keys

    def current_minute(self, event_time: int) -> str:
        """Key of shard 0's minute item at ``event_time`` (the hot-entity detector)."""
        return self.boundary(0, event_time)[2]


@functools.lru_cache(maxsize=256)
def _boundary_keys(base: str, shard: int, event_time: int) -> tuple[str, str, str]:
    """``CounterKeys.boundary``. A transaction needs the same keys up to three times (to
    read the items, to sum their buckets, to add its own): they are formatted once."""
    at = _Moment.of(event_time)
    prefix = f"{base}#s{shard}"
    return (
        f"{prefix}#d{at.day}",
        f"{prefix}#h{at.day}.{at.hour}",
        f"{prefix}#m{at.day}.{at.hour}.{at.minute}",
    )


def _hot_at(rolling_head: Mapping[str, Any] | None) -> int | None:
    if not rolling_head or HOT_AT not in rolling_head:
        return None
    return int(rolling_head[HOT_AT])


@functools.cache
def _bucket_names(bucket: int) -> tuple[str, str, str]:
    """The count, amount and fraud attributes of ``bucket``. Bucket numbers are few (0-59,
    and one per day), and a transaction's window sums read a hundred-odd buckets: their
    names are formatted once, not at each read (a tenth of the sums' time)."""
    return f"{COUNT}{bucket}", f"{AMOUNT}{bucket}", f"{FRAUD}{bucket}"


_FIELDS = {COUNT: 0, AMOUNT: 1, FRAUD: 2}


@functools.lru_cache(maxsize=4096)
def _bucket_field(name: str) -> tuple[int, int] | None:
    """``(bucket, field)`` of a bucket attribute (field 0: count, 1: amount, 2: fraud),
    ``None`` for any other attribute. Attribute names repeat across items and
    transactions (three per bucket number), so each is parsed once."""
    field, number = _FIELDS.get(name[:1]), name[1:]
    if field is None or not number.isdigit():
        return None
    return int(number), field


def _bucket_sum(item: Mapping[str, Any], start: int, stop: int) -> tuple[float, float, float]:
    """Count, amount and fraud sums of the buckets of ``item`` numbered ``start`` to
    ``stop - 1``.

    Walks the range (three reads per bucket), or the item's attributes (one parse, cached,
    per attribute) when it has fewer than twice as many as the range has buckets:
    boundary items hold only the hours, minutes or seconds that saw events, often far
    fewer than the range.
    """
    if len(item) >= 2 * (stop - start):
        count = amount = fraud = 0.0
        get = item.get
        for bucket in range(start, stop):
            count_name, amount_name, fraud_name = _bucket_names(bucket)
            count += get(count_name, 0)
            amount += get(amount_name, 0)
            fraud += get(fraud_name, 0)
        return count, amount, fraud
    sums = [0.0, 0.0, 0.0]
    for name, value in item.items():
        parsed = _bucket_field(name)
        if parsed is not None and start <= parsed[0] < stop:
            sums[parsed[1]] += value
    return sums[0], sums[1], sums[2]


class CounterState:
    """Counters of one entity as seen by a transaction at ``event_time``.

    Parameters
    ----------
    spec:
        The entity (kind ``counters``).
    entity_id:
        Its id in the transaction.
    event_time:
        The transaction's event time (whole seconds).
    items:
        Fetched state items by key (missing keys mean empty items); read as they are while
        this state is in use (window sums are memoised), so build a new state after
        applying updates.
    hot_shards:
        Shards used while the entity is hot.
    hot_minute_count:
        Events per minute (all shards) from which the entity counts as hot.
    hot_second_count:
        Events per second (all shards) from which the entity counts as hot.
    """

    def __init__(
        self,
        spec: EntitySpec,
        entity_id: str,
        event_time: int,
        items: Items,
        hot_shards: int,
        hot_minute_count: int,
        hot_second_count: int,
    ) -> None:
        self.spec = spec
        self.keys = CounterKeys(spec, entity_id)
        self.event_time = event_time
        self.items = items
        self.hot_shards = hot_shards
        self.hot_minute_count = hot_minute_count
        self.hot_second_count = hot_second_count
        self._hot_at = _hot_at(items.get(self.keys.rolling(0)))
        # Memoised sums: several features share a window, windows share their end second.
        self._prefixes: dict[tuple[int, int], tuple[float, float, float]] = {}
        self._totals: dict[tuple[int, int], Totals] = {}

    # -- shards ---------------------------------------------------------------------
    def reader_shards(self) -> int:
        """Shards holding events that may fall inside this transaction's windows."""
        hot_at = self._hot_at
        if hot_at is None:
            return 1
        last_sharded = hot_at + HOT_HOLD_SECONDS
        still_visible = self.event_time < last_sharded + self.spec.retention_seconds
        return self.hot_shards if still_visible else 1

    def minute_count(self) -> float:
        """Events shard 0 recorded so far in this transaction's minute."""
        item = self.items.get(self.keys.current_minute(self.event_time))
        return _bucket_sum(item, 0, 60)[0] if item else 0.0

    def second_count(self) -> float:
        """Events shard 0 recorded so far in this transaction's second."""
        item = self.items.get(self.keys.current_minute(self.event_time))
        second = _Moment.of(self.event_time).second
        return _bucket_sum(item, second, second + 1)[0] if item else 0.0

    def is_hot_now(self) -> bool:
        """Whether the current minute's or second's rate calls for write sharding."""
        shards = self.hot_shards if self._writes_sharded() else 1
        return (
            self.minute_count() * shards >= self.hot_minute_count
            or self.second_count() * shards >= self.hot_second_count
        )

    def _writes_sharded(self) -> bool:
        hot_at = self._hot_at
        return hot_at is not None and self.event_time < hot_at + HOT_HOLD_SECONDS

    def read_keys(self) -> list[str]:
        """First-round keys: shard 0's boundary items and the hot detector."""
        head = self.keys.read_keys(self.event_time, [0])
        return [*head, self.keys.current_minute(self.event_time)]

    def extra_read_keys(self) -> list[str]:
        """Second-round keys, needed only when the entity is (or was recently) hot."""
        shards = self.reader_shards()
        return self.keys.read_keys(self.event_time, range(1, shards)) if shards > 1 else []

    # -- windows --------------------------------------------------------------------
    def _prefix(self, shard: int, second: int) -> tuple[float, float, float]:
        """Count, amount and fraud of shard ``shard``'s events in the day of ``second``, up
        to and including it."""
        known = self._prefixes.get((shard, second))
        if known is not None:
            return known
        _, hour, minute, second_of_minute = _Moment.of(second)
        count = amount = fraud = 0.0
        for key, stop in zip(
            self.keys.boundary(shard, second), (hour, minute, second_of_minute + 1), strict=True
        ):
            item = self.items.get(key)
            if item:
                item_count, item_amount, item_fraud = _bucket_sum(item, 0, stop)
                count, amount, fraud = count + item_count, amount + item_amount, fraud + item_fraud
        prefix = self._prefixes[shard, second] = (count, amount, fraud)
        return prefix

    def totals(self, lo: int, hi: int) -> Totals:
        """Totals of the events with ``lo < event_time <= hi`` (whole seconds)."""
        known = self._totals.get((lo, hi))
        if known is not None:
            return known
        count = amount = fraud = 0.0
        first_day, last_day = lo // SECONDS_PER_DAY, hi // SECONDS_PER_DAY
        for shard in range(self.reader_shards()):
            rolling = self.items.get(self.keys.rolling(shard))
            if rolling:
                days_count, days_amount, days_fraud = _bucket_sum(rolling, first_day, last_day)
                count, amount, fraud = count + days_count, amount + days_amount, fraud + days_fraud
            hi_count, hi_amount, hi_fraud = self._prefix(shard, hi)
            lo_count, lo_amount, lo_fraud = self._prefix(shard, lo)
            count += hi_count - lo_count
            amount += hi_amount - lo_amount
            fraud += hi_fraud - lo_fraud
        total = self._totals[lo, hi] = new_totals((count, amount, fraud))
        return total

    # -- writes ---------------------------------------------------------------------
    def record(
        self, transaction_key: str, amount: float, fraud: int
    ) -> tuple[int, list[ItemUpdate]]:
        """Add this transaction's event: returns the shard written and the updates.

        A hot entity (or one hot within ``HOT_HOLD_SECONDS``) is written to shard
        ``hash(transaction) mod hot_shards``. A writer that uses a shard other than 0
        while hot also (re)sets ``hot_at`` on shard 0, in the same transaction, so that
        readers always know to sum the shard it wrote.
        """
        hot_now = self.is_hot_now()
        sharded = hot_now or self._writes_sharded()
        shard = int(transaction_key, 16) % self.hot_shards if sharded else 0
        updates = bucket_updates(
            self.keys, shard, self.event_time, {COUNT: 1, AMOUNT: amount, FRAUD: fraud}
        )
        updates.append(self._rolling_housekeeping(shard))
        hot_at = self._hot_at
        stale_marker = hot_at is None or self.event_time >= hot_at + HOT_HOLD_SECONDS // 2
        if shard > 0 and hot_now and stale_marker:
            updates.append(ItemUpdate(self.keys.rolling(0), set={HOT_AT: self.event_time}))
        return shard, updates

    def _rolling_housekeeping(self, shard: int) -> ItemUpdate:
        """Extend the rolling item's expiry and drop day buckets past the retention.

        Only the first write of a day (its count bucket not yet in the item) looks for
        buckets to drop, sparing every other write a scan of the item. With a retention of
        whole days it drops all that later writes of the day would find; otherwise a
        bucket may stay a day longer, still older than any window reads.
        """
        rolling_key = self.keys.rolling(shard)
        rolling = self.items.get(rolling_key) or {}
        stale: frozenset[str] = frozenset()
        if _bucket_names(self.event_time // SECONDS_PER_DAY)[0] not in rolling:
            horizon_day = (self.event_time - self.spec.retention_seconds) // SECONDS_PER_DAY
            stale = frozenset(
                name
                for name in rolling
                if (bucket := _bucket_field(name)) is not None and bucket[0] < horizon_day
            )
        expires = max(
            int(rolling.get(EXPIRES_AT, 0)), self.event_time + self.spec.retention_seconds
        )
        return ItemUpdate(rolling_key, set={EXPIRES_AT: expires}, remove=stale)


def bucket_updates(
    keys: CounterKeys, shard: int, second: int, deltas: Mapping[str, float]
) -> list[ItemUpdate]:
    """``ADD`` ``deltas`` (by statistic) to the buckets of ``second`` on every level.

    The rolling item's expiry depends on what it holds and is set by the caller.
    """
    at = _Moment.of(second)
    day_key, hour_key, minute_key = keys.boundary(shard, second)
    expires = (at.day + 1) * SECONDS_PER_DAY + keys.spec.retention_seconds
    levels: tuple[tuple[str, int, dict[str, int]], ...] = (
        (keys.rolling(shard), at.day, {}),
        (day_key, at.hour, {EXPIRES_AT: expires}),
        (hour_key, at.minute, {EXPIRES_AT: expires}),
        (minute_key, at.second, {EXPIRES_AT: expires}),
    )
    return [
        ItemUpdate(key, add={f"{stat}{bucket}": d for stat, d in deltas.items() if d}, set=set_)
        for key, bucket, set_ in levels
    ]


def label_updates(
    spec: EntitySpec, entity_id: str, shard: int, event_time: int, fraud_delta: int
) -> list[ItemUpdate]:
    """Updates moving an already recorded event's fraud count by ``fraud_delta``."""
    return bucket_updates(CounterKeys(spec, entity_id), shard, event_time, {FRAUD: fraud_delta})
