"""Offline features: the online definitions computed over a whole file at once.

For every entity window the engine finds, per row, the entity's events inside
``(t - (lag + w), t - lag]`` that replay before the row (binary search on an
(entity, event time) key) and builds the state of the window's statistic for every row
at once: sums from per-entity prefix sums, the previous event from the row before, distinct values
by counting first occurrences inside the window. The statistic classes of
``chalicelib.features.statistics`` then turn those states into values with the same
``get`` the online engine calls: one definition, two engines; ``tests/`` prove they agree.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from chalicelib.features.online import NIGHT_LAST_HOUR, SATURDAY
from chalicelib.features.spec import (
    DEFAULT_CONFIG,
    SECONDS_PER_DAY,
    EntitySpec,
    FeatureConfig,
    FeatureDef,
    WindowRef,
    feature_definitions,
)
from chalicelib.features.statistics import Statistic, create
from chalicelib.transaction import LABEL_FIELD

GZIP_LEVEL = 1
"""Compression level of ``.gz`` outputs: level 1 is several times faster than the
default 6 and a feature file gets only ~15 % larger."""

WRITE_SLICE_ROWS = 131_072
"""Rows formatted per parallel job when writing a file."""

EPOCH_THURSDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


def _narrow(codes: np.ndarray) -> np.ndarray:
    """``codes`` (>= -1) in the smallest integer type that holds them: numpy's stable
    sort is a radix sort for 16-bit integers, several times faster than on int64."""
    for kind in (np.int16, np.int32):
        if len(codes) == 0 or codes.max() <= np.iinfo(kind).max:
            return codes.astype(kind)
    return codes


class EntityIndex:
    """A frame's rows grouped by one entity, in replay order, with prefix sums.

    Everything is computed in *entity order* (rows sorted by entity, replay order kept
    within an entity), where each entity's event times increase, so that window bounds
    come from one monotone binary search and sums from contiguous prefix sums;
    ``to_rows`` puts a result back in the frame's order.

    Parameters
    ----------
    frame:
        Transactions in replay order (``fraudctl.data.read_transactions``).
    spec:
        The entity.
    """

    def __init__(self, frame: pd.DataFrame, spec: EntitySpec) -> None:
        codes, _ = pd.factorize(frame[spec.key_field], use_na_sentinel=True)
        size = len(frame)
        self.frame = frame
        self.order = np.argsort(_narrow(codes), kind="stable")
        self.position = np.empty_like(self.order)
        self.position[self.order] = np.arange(size)
        self.codes = codes.astype(np.int64)[self.order]
        self.present = self.codes >= 0
        self.times = frame["event_time"].to_numpy(np.int64)[self.order]
        self.amounts = frame["amount"].to_numpy(np.float64)[self.order]
        base = int(self.times.min()) - spec.retention_seconds - 1 if size else 0
        span = (int(self.times.max()) - base + 1) if size else 1
        self.keys = self.codes * span + (self.times - base)
        starts = np.r_[True, self.codes[1:] != self.codes[:-1]] if size else np.zeros(0, bool)
        self.group_start = np.maximum.accumulate(np.where(starts, np.arange(size), 0))
        ends = np.r_[starts[1:], True] if size else np.zeros(0, bool)
        self.group_last = np.minimum.accumulate(np.where(ends, np.arange(size), size)[::-1])[::-1]
        self._sums: dict[str, np.ndarray] = {}
        self._bounds: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._previous: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def to_rows(self, values: np.ndarray) -> np.ndarray:
        """``values`` (entity order) in the frame's order."""
        return values[self.position]

    def _values(self, name: str) -> np.ndarray:
        if name == "amount":
            return self.amounts
        if name == "amount_sq":
            return self.amounts * self.amounts
        if name == "fraud":
            labels = self.frame.get(LABEL_FIELD)
            if labels is None:
                return np.zeros(len(self.frame))
            return labels.to_numpy(np.float64)[self.order]
        return (self.amounts <= float(name.removeprefix("small:"))).astype(np.float64)

    def cumulative(self, name: str) -> np.ndarray:
        """Inclusive sums of ``amount``, ``amount_sq``, ``fraud`` or a small-amount flag
        ``small:<threshold>``, restarting at each entity (computed once each).

        Restarting keeps every partial sum no larger than one entity's history, so a
        window's sum, a difference of two of them, is exact to ~1e-16 of that history.
        """
        if name not in self._sums:
            values = pd.Series(self._values(name))
            self._sums[name] = values.groupby(self.codes, sort=False).cumsum().to_numpy()
        return self._sums[name]

    def range_sum(self, name: str, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Per row, the sum of ``name`` over entity positions ``[start, end)``."""
        sums = self.cumulative(name)
        if not len(sums):
            return np.zeros(0)
        first = np.minimum(start, len(sums) - 1)
        last = np.maximum(end - 1, 0)
        before = np.where(first > self.group_start[first], sums[first - 1], 0.0)
        return np.where(end > start, sums[last] - before, 0.0)

    def bounds(self, window: WindowRef) -> tuple[np.ndarray, np.ndarray]:
        """Per row (entity order), the range ``[start, end)`` of its window's events."""
        cache_key = (window.seconds, window.lag_seconds)
        if cache_key not in self._bounds:
            hi = self.keys - window.lag_seconds
            start = np.searchsorted(self.keys, hi - window.seconds, side="right")
            if window.lag_seconds == 0:
                end = np.arange(1, len(self.keys) + 1)  # up to and including the row
            else:
                end = np.maximum(np.searchsorted(self.keys, hi, side="right"), start)
            self._bounds[cache_key] = (start, end)
        return self._bounds[cache_key]

    def previous_same(self, attribute: str) -> tuple[np.ndarray, np.ndarray]:
        """Per position: whether ``attribute`` is non-null there, and the position of the
        entity's previous event with the same value (-1 for none); computed once."""
        if attribute not in self._previous:
            values, _ = pd.factorize(self.frame[attribute], use_na_sentinel=True)
            values = values[self.order]
            grouped = np.lexsort((values, self.codes))  # stable: positions ascending
            same = np.r_[
                False,
                (values[grouped][1:] == values[grouped][:-1])
                & (self.codes[grouped][1:] == self.codes[grouped][:-1]),
            ]
            previous = np.full(len(values), -1, dtype=np.int64)
            previous[grouped[same]] = grouped[np.flatnonzero(same) - 1]
            self._previous[attribute] = (values >= 0, previous)
        return self._previous[attribute]

    def distinct(self, attribute: str, window: WindowRef) -> np.ndarray:
        """Per row (entity order), the distinct non-null values of ``attribute`` in its
        window.

        Event ``j`` counts for row ``i`` when it lies in ``i``'s window and its previous
        occurrence (same entity, same value) does not. Times increase within an entity,
        so the rows ``j`` counts for form one contiguous range: from the first row whose
        window holds ``j`` and no longer its previous occurrence, to the last row whose
        window still holds ``j``. Adding +1/-1 at the ends of those ranges and a running
        sum gives every row's count: ``O(n log n)``, whatever the window's length.
        """
        size = len(self.keys)
        if attribute not in self.frame:
            return np.zeros(size)
        counted, previous = self.previous_same(attribute)
        reach = window.lag_seconds + window.seconds
        if window.lag_seconds == 0:
            first = np.arange(size)  # a row's window ends at the row itself
        else:
            first = np.searchsorted(self.keys, self.keys + window.lag_seconds, side="left")
        has_previous = previous >= 0
        gone = np.searchsorted(self.keys, self.keys[previous] + reach, side="left")
        first = np.where(has_previous, np.maximum(first, gone), first)
        last = np.searchsorted(self.keys, self.keys + reach, side="left") - 1
        last = np.minimum(last, self.group_last)
        valid = counted & (first <= last)
        changes = np.bincount(first[valid], minlength=size + 1)
        changes -= np.bincount(last[valid] + 1, minlength=size + 1)
        return np.cumsum(changes[:size]).astype(np.float64)


def _window_state(
    index: EntityIndex, definition: FeatureDef, window: WindowRef
) -> dict[str, np.ndarray]:
    """The state of ``definition``'s statistic for every row, in entity order."""
    start, end = index.bounds(window)
    statistic = definition.statistic
    if statistic == "count":
        return {"count": (end - start).astype(np.float64)}
    if statistic == "mean_amount":
        return {
            "count": (end - start).astype(np.float64),
            "total": index.range_sum("amount", start, end),
        }
    if statistic == "fraud_rate":
        return {
            "count": (end - start).astype(np.float64),
            "frauds": index.range_sum("fraud", start, end),
        }
    if statistic == "small_count":
        return {"count": index.range_sum(f"small:{definition.argument}", start, end)}
    # The rest read the window's earlier events and the row itself (the last event).
    earlier = np.maximum(end - 1, start)
    if statistic == "since_previous":
        before = np.where(earlier > start, earlier - 1, 0)
        previous = np.where(earlier > start, index.times[before], np.nan)
        return {"previous": previous, "last": index.times.astype(np.float64)}
    return {
        "count": (earlier - start).astype(np.float64),
        "total": index.range_sum("amount", start, earlier),
        "total_sq": index.range_sum("amount_sq", start, earlier),
        "last": index.amounts,
    }


def _window_values(index: EntityIndex, definition: FeatureDef, window: WindowRef) -> np.ndarray:
    """The feature for every row: the statistic's own ``get`` on array states.

    ``distinct`` is the exception: its state is a set of values online; offline the
    engine counts first occurrences in each window directly (``EntityIndex.distinct``).
    """
    empty = create(definition.statistic, definition.argument, window.seconds)
    if definition.statistic == "distinct":
        values = index.distinct(str(definition.argument), window)
    else:
        state = _window_state(index, definition, window)
        own = {name: state[name] for name in empty.STATE}
        statistic: Statistic = dataclasses.replace(empty, **own)  # type: ignore[type-var]
        values = np.asarray(statistic.get(), dtype=np.float64)
    values = np.where(index.present, values, float(empty.get()))
    return index.to_rows(values.astype(np.float64, copy=False))


def _transaction_feature(statistic: str, frame: pd.DataFrame) -> np.ndarray:
    times = frame["event_time"].to_numpy(np.int64)
    if statistic == "amount":
        return frame["amount"].to_numpy(np.float64)
    if statistic == "is_weekend":
        weekday = (times // SECONDS_PER_DAY + EPOCH_THURSDAY) % 7
        return (weekday >= SATURDAY).astype(np.float64)
    if statistic == "is_night":
        return ((times % SECONDS_PER_DAY) // 3_600 <= NIGHT_LAST_HOUR).astype(np.float64)
    raise ValueError(f"unknown transaction statistic {statistic!r}")


def compute_features(
    frame: pd.DataFrame,
    config: FeatureConfig = DEFAULT_CONFIG,
    definitions: Sequence[FeatureDef] | None = None,
) -> pd.DataFrame:
    """Every feature of every row of ``frame`` (replay order), labels all known.

    Returns a frame with ``transaction_id`` and one float64 column per feature, in the
    order of ``definitions`` (default: every feature of ``config``), aligned with
    ``frame``.
    """
    definitions = tuple(definitions or feature_definitions(config))
    # One float block filled column by column: no copy when pandas takes it over.
    block = np.empty((len(definitions), len(frame)), dtype=np.float64)
    by_entity: dict[str, list[tuple[int, FeatureDef, WindowRef]]] = {}
    for row, definition in enumerate(definitions):
        if definition.window is None:
            block[row] = _transaction_feature(definition.statistic, frame)
        else:
            by_entity.setdefault(definition.window.entity, []).append(
                (row, definition, definition.window)
            )

    def fill(entity: str) -> None:
        index = EntityIndex(frame, config.entity(entity))
        for row, definition, window in by_entity[entity]:
            block[row] = _window_values(index, definition, window)

    # Entities are independent and numpy releases the GIL: one thread per entity.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for job in [pool.submit(fill, entity) for entity in by_entity]:
            job.result()
    features = pd.DataFrame(block.T, columns=[d.name for d in definitions], copy=False)
    features.insert(0, "transaction_id", frame["transaction_id"].reset_index(drop=True))
    return features


def _csv_chunk(table: pa.Table, header: bool, gzip_level: int | None) -> bytes:
    """One slice of the table as CSV bytes, gzip-compressed when a level is given."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=header))
    data = sink.getvalue().to_pybytes()
    return data if gzip_level is None else gzip.compress(data, gzip_level, mtime=0)


def _integers_as_such(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with float columns holding only whole numbers (counts, flags) as int64:
    the same text in a CSV (``1``), formatted several times faster."""
    integral = {}
    for name in frame.columns:
        values = frame[name].to_numpy()
        if values.dtype == np.float64 and np.array_equal(values, np.round(values)):
            integral[name] = values.astype(np.int64)
    return frame.assign(**integral) if integral else frame


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV with pyarrow, in slices formatted (and compressed) in parallel.

    A name ending in ``.gz`` gets gzip at level ``GZIP_LEVEL``: one gzip member per slice,
    which every gzip reader reads as one stream.
    """
    table = pa.Table.from_pandas(_integers_as_such(frame), preserve_index=False)
    level = GZIP_LEVEL if path.suffix == ".gz" else None
    slices = [
        table.slice(start, WRITE_SLICE_ROWS) for start in range(0, len(table), WRITE_SLICE_ROWS)
    ]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool, path.open("wb") as out:
        jobs = [
            pool.submit(_csv_chunk, piece, index == 0, level)
            for index, piece in enumerate(slices or [table])
        ]
        for job in jobs:
            out.write(job.result())
