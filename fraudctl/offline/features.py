"""Offline features: the online definitions computed over a whole file at once.

For every entity window the engine finds, per row, the entity's events inside
``(t - (lag + days), t - lag]`` that replay before the row (binary search on an
(entity, event time) key), and sums them with per-entity prefix sums. The statistics
that turn window totals into feature values are the online ones
(``chalicelib.features.online``), applied to arrays: one definition, two engines, and
``tests/`` prove they agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from chalicelib.features.counters import Totals
from chalicelib.features.online import WINDOW_STATISTICS
from chalicelib.features.spec import (
    DEFAULT_CONFIG,
    SECONDS_PER_DAY,
    EntitySpec,
    FeatureConfig,
    FeatureDef,
    WindowRef,
    feature_definitions,
)
from chalicelib.transaction import LABEL_FIELD

NIGHT_LAST_HOUR = 6
SATURDAY = 5


class EntityIndex:
    """A frame's rows grouped by one entity, in replay order, with prefix sums.

    Parameters
    ----------
    frame:
        Transactions in replay order (``fraudctl.data.read_transactions``).
    spec:
        The entity.
    """

    def __init__(self, frame: pd.DataFrame, spec: EntitySpec) -> None:
        codes, _ = pd.factorize(frame[spec.key_field], use_na_sentinel=True)
        self.present = codes >= 0
        self.codes = codes.astype(np.int64)
        times = frame["event_time"].to_numpy(np.int64)
        self.times = times
        order = np.argsort(self.codes, kind="stable")  # replay order kept within an entity
        self.position = np.empty_like(order)
        self.position[order] = np.arange(len(order))
        lookback = (max(spec.windows_days) + spec.lag_days + 1) * SECONDS_PER_DAY
        self.base = int(times.min()) - lookback - 1 if len(times) else 0
        self.span = (int(times.max()) - self.base + 1) if len(times) else 1
        grouped_codes = self.codes[order]
        self.sorted_keys = grouped_codes * self.span + (times[order] - self.base)
        starts = np.r_[True, grouped_codes[1:] != grouped_codes[:-1]] if len(order) else []
        self.group_start = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
        labels = (
            frame[LABEL_FIELD].to_numpy(np.float64)
            if LABEL_FIELD in frame
            else np.zeros(len(frame))
        )
        self.cum_amount = self._cumsum(grouped_codes, frame["amount"].to_numpy(np.float64)[order])
        self.cum_fraud = self._cumsum(grouped_codes, labels[order])

    @staticmethod
    def _cumsum(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Inclusive cumulative sums restarting at each entity (small magnitudes: exact)."""
        return pd.Series(values).groupby(groups).cumsum().to_numpy(np.float64)

    def _key(self, seconds: np.ndarray) -> np.ndarray:
        return self.codes * self.span + (seconds - self.base)

    def _range_sum(self, cumulative: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        result = np.zeros(len(start))
        nonempty = end > start
        first, last = start[nonempty], end[nonempty] - 1
        before = np.where(first > self.group_start[first], cumulative[first - 1], 0.0)
        result[nonempty] = cumulative[last] - before
        return result

    def window(self, lag_days: int, days: int) -> Totals:
        """Per row: totals of its entity's events in the window that replay before it."""
        hi = self.times - lag_days * SECONDS_PER_DAY
        lo = hi - days * SECONDS_PER_DAY
        start = np.searchsorted(self.sorted_keys, self._key(lo), side="right")
        if lag_days == 0:
            end = self.position + 1  # up to and including the row itself
        else:
            end = np.searchsorted(self.sorted_keys, self._key(hi), side="right")
        end = np.maximum(end, start)
        count = (end - start).astype(np.float64)
        amount = self._range_sum(self.cum_amount, start, end)
        fraud = self._range_sum(self.cum_fraud, start, end)
        absent = ~self.present
        for values in (count, amount, fraud):
            values[absent] = 0.0
        return Totals(count, amount, fraud)


def _transaction_feature(statistic: str, frame: pd.DataFrame) -> np.ndarray:
    stamps = frame["timestamp"]
    if statistic == "amount":
        return frame["amount"].to_numpy(np.float64)
    if statistic == "is_weekend":
        return (stamps.dt.weekday >= SATURDAY).to_numpy(np.float64)
    if statistic == "is_night":
        return (stamps.dt.hour <= NIGHT_LAST_HOUR).to_numpy(np.float64)
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
    indexes = {spec.name: EntityIndex(frame, spec) for spec in config.entities}
    windows: dict[WindowRef, Totals] = {}
    columns: dict[str, np.ndarray] = {"transaction_id": frame["transaction_id"].to_numpy()}
    for definition in definitions:
        window = definition.window
        if window is None:
            columns[definition.name] = _transaction_feature(definition.statistic, frame)
            continue
        if window not in windows:
            windows[window] = indexes[window.entity].window(window.lag_days, window.days)
        values = WINDOW_STATISTICS[definition.statistic](windows[window])
        columns[definition.name] = np.asarray(values, dtype=np.float64)
    return pd.DataFrame(columns)


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV (gzip when the name ends in ``.gz``), fast, via pyarrow."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if path.suffix == ".gz":
        with pa.CompressedOutputStream(str(path), "gzip") as stream:
            pacsv.write_csv(table, stream)
    else:
        pacsv.write_csv(table, str(path))
