"""Population stability of a value's distribution against a reference (pure, numpy).

A reference is a list of interior bin ``edges`` (ascending) and the ``proportions`` of
the reference population in each of the ``len(edges) + 1`` bins
``(-inf, e1], (e1, e2], ..., (ek, +inf)``. Training writes one per main feature and one
for the score into the model's manifest (``reference``); the daily report bins the day's
values the same way and computes the population stability index

    PSI = sum over bins of (actual - expected) * ln(actual / expected)

with both proportions floored at ``FLOOR`` so that an empty bin costs a bounded amount.
Conventional reading: below 0.1 stable, 0.1 to 0.25 a moderate shift, 0.25 and above a
significant shift (the default alert threshold, ``FRAUD_DRIFT_PSI_THRESHOLD``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

REFERENCE_BINS = 10
FLOOR = 1e-4
MODERATE_PSI = 0.1
MIN_SAMPLE = 200
"""Fewer values than this on a day: PSI is reported but never alerts (too noisy)."""
DIGITS = 6


def quantile_edges(values: ArrayLike, bins: int = REFERENCE_BINS) -> list[float]:
    """Interior edges at the ``1/bins ... (bins-1)/bins`` quantiles, duplicates dropped.

    >>> quantile_edges([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5)
    [2.8, 4.6, 6.4, 8.2]
    >>> quantile_edges([0, 0, 0, 1], 4)
    [0.0, 0.25]
    """
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    if not len(data):
        return []
    quantiles = np.quantile(data, np.arange(1, bins) / bins)
    return [round(float(q), DIGITS) for q in np.unique(quantiles)]


def proportions(values: ArrayLike, edges: Sequence[float]) -> list[float]:
    """Share of ``values`` in each bin of ``edges`` (all zeros when there is no value).

    >>> proportions([0, 1, 1, 5], [0.0, 1.0])
    [0.25, 0.5, 0.25]
    """
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    counts = np.bincount(
        np.searchsorted(np.asarray(edges, dtype=np.float64), data, side="left"),
        minlength=len(edges) + 1,
    )
    total = counts.sum()
    return [float(c / total) if total else 0.0 for c in counts]


def reference(values: ArrayLike, bins: int = REFERENCE_BINS) -> dict[str, list[float]]:
    """The reference of a population: its quantile edges and its proportions in them."""
    edges = quantile_edges(values, bins)
    return {"edges": edges, "proportions": [round(p, DIGITS) for p in proportions(values, edges)]}


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """Population stability index of ``actual`` against ``expected`` proportions.

    >>> psi([0.5, 0.5], [0.5, 0.5])
    0.0
    >>> round(psi([0.5, 0.5], [0.9, 0.1]), 4)
    0.8789
    """
    e = np.maximum(np.asarray(expected, dtype=np.float64), FLOOR)
    a = np.maximum(np.asarray(actual, dtype=np.float64), FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def status(value: float, sample: int, threshold: float) -> str:
    """``insufficient`` (sample below ``MIN_SAMPLE``), ``stable``, ``moderate`` or
    ``significant`` (at or above ``threshold``)."""
    if sample < MIN_SAMPLE:
        return "insufficient"
    if value >= threshold:
        return "significant"
    return "moderate" if value >= MODERATE_PSI else "stable"


def drift_of(
    name: str, ref: Mapping[str, Any], values: ArrayLike, threshold: float
) -> dict[str, Any]:
    """One value's drift against its reference: edges, both proportions, PSI, status."""
    data = np.asarray(values, dtype=np.float64)
    actual = proportions(data, ref["edges"])
    value = psi(ref["proportions"], actual) if len(data) else 0.0
    return {
        "name": name,
        "sample": len(data),
        "psi": round(value, DIGITS),
        "status": status(value, len(data), threshold),
        "edges": list(ref["edges"]),
        "expected": list(ref["proportions"]),
        "actual": [round(p, DIGITS) for p in actual],
    }
