"""Figures in the format of ``bench/results.json``, floors, and the statistics behind them.

A figure is ``{"name", "value", "unit", "baseline", "ratio"}`` (the project's contract)
plus the bench's own fields: ``section`` (the benchmark that measured it), ``floor``
(the bound the issue sets, or ``null``), ``on`` (``"value"`` or ``"ratio"``: what the
floor bounds), ``better`` (``"lower"`` or ``"higher"``) and ``passed`` (``null`` without a
floor). ``baseline`` is the same quantity measured the other way in the same run;
``ratio`` is ``value / baseline``.

>>> figure("path_median", 0.51234, "ms", 2.0)["ratio"]
0.2562
>>> figure("path_median", 0.51234, "ms", 2.0, floor=Floor(1.0))["passed"]
True
>>> median_p99([3.0, 1.0, 2.0])
(2.0, 2.98)
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

SIGNIFICANT = 4
Figure = dict[str, Any]


@dataclass(frozen=True)
class Floor:
    """A bound a figure must meet: ``limit`` on its ``value`` or its ``ratio``; ``better``
    says which side passes (``lower``: at most ``limit``; ``higher``: at least)."""

    limit: float
    on: Literal["value", "ratio"] = "value"
    better: Literal["lower", "higher"] = "lower"

    def passes(self, measured: float | None) -> bool:
        """Whether ``measured`` meets the floor (``None``, not measured, never does)."""
        if measured is None or not np.isfinite(measured):
            return False
        return measured <= self.limit if self.better == "lower" else measured >= self.limit

    def describe(self) -> str:
        """``"value <= 1"``, ``"ratio <= 0.05"``..."""
        return f"{self.on} {'<=' if self.better == 'lower' else '>='} {self.limit:g}"


def rounded(value: float | None) -> float | None:
    """``value`` to ``SIGNIFICANT`` significant digits (``None`` and 0 unchanged)."""
    if value is None or value == 0 or not np.isfinite(value):
        return value
    digits = SIGNIFICANT - 1 - int(np.floor(np.log10(abs(value))))
    return float(round(value, max(digits, 0)))


def figure(
    name: str,
    value: float,
    unit: str,
    baseline: float | None,
    floor: Floor | None = None,
    better: Literal["lower", "higher"] = "lower",
) -> Figure:
    """One record of ``results.json``; the ratio is ``None`` without a non-zero baseline."""
    value = float(value)
    ratio = None if not baseline else value / float(baseline)
    record: Figure = {
        "name": name,
        "value": rounded(value),
        "unit": unit,
        "baseline": rounded(None if baseline is None else float(baseline)),
        "ratio": rounded(ratio),
        "better": floor.better if floor else better,
        "floor": None if floor is None else floor.limit,
        "on": None if floor is None else floor.on,
        "passed": None,
    }
    if floor is not None:
        record["passed"] = bool(floor.passes(value if floor.on == "value" else ratio))
    return record


def median_p99(samples: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """The median and the 99th percentile (linear interpolation) of ``samples``."""
    values = np.asarray(samples, dtype=np.float64)
    return float(np.median(values)), float(np.percentile(values, 99))


def command_line(
    doc: str | None, measure: Callable[..., list[Figure]], **defaults: float | str
) -> None:
    """A benchmark module's ``main``: options ``--name`` with ``defaults`` (their types),
    ``measure(**options)``, then one JSON line per figure."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    for name, default in defaults.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    for record in measure(**vars(parser.parse_args())):
        print(json.dumps(record))
