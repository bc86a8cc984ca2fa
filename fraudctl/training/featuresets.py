"""Model inputs by name: named feature sets, or explicit lists of the online features.

Every name must be a feature the online engine computes
(``chalicelib.features.spec.feature_definitions``): a model can only read what the
functions serve. Named sets:

- ``handbook``: the Handbook's 15 features, in the column order of its notebooks (a random
  forest draws features by column index, so this order reproduces its published figures);
- ``velocity``: the Handbook's 15 and the customer's velocity features (distinct terminals,
  countries and devices, amount ratio and z-score against the last 30 days, time since the
  previous transaction, small-amount bursts): 25 features, in the online engine's order,
  fixed so that the presets built on it keep their published figures;
- ``all``: every feature the online engine defines, in its order (grows as features land).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from chalicelib.features.spec import (
    DEFAULT_CONFIG,
    HANDBOOK_FEATURES,
    FeatureDef,
    feature_definitions,
)
from chalicelib.model.scorer import ANOMALY_FEATURE
from fraudctl.offline.features import compute_features

HANDBOOK_SET = (
    "amount",
    "is_weekend",
    "is_night",
    "customer_nb_tx_1d",
    "customer_avg_amount_1d",
    "customer_nb_tx_7d",
    "customer_avg_amount_7d",
    "customer_nb_tx_30d",
    "customer_avg_amount_30d",
    "terminal_nb_tx_1d",
    "terminal_risk_1d",
    "terminal_nb_tx_7d",
    "terminal_risk_7d",
    "terminal_nb_tx_30d",
    "terminal_risk_30d",
)
VELOCITY_SET = (
    *HANDBOOK_FEATURES,  # the online engine's order, as the preset was fitted
    "customer_nb_terminals_1d",
    "customer_nb_terminals_7d",
    "customer_nb_countries_1d",
    "customer_nb_countries_7d",
    "customer_nb_devices_1d",
    "customer_nb_devices_7d",
    "customer_amount_ratio_30d",
    "customer_amount_zscore_30d",
    "customer_seconds_since_prev_30d",
    "customer_nb_small_tx_10m",
)
DEFAULT_SET = "handbook"


class FeatureSetError(ValueError):
    """An unknown feature or feature set, or a repeated feature."""


def online_definitions() -> dict[str, FeatureDef]:
    """Every feature the online engine computes, by name."""
    return {d.name: d for d in feature_definitions(DEFAULT_CONFIG)}


def feature_sets() -> dict[str, tuple[str, ...]]:
    """The named sets (see the module)."""
    return {
        "handbook": HANDBOOK_SET,
        "velocity": VELOCITY_SET,
        "all": tuple(online_definitions()),
    }


def resolve_features(text: str) -> tuple[str, ...]:
    """A set name, or comma-separated feature names, as a tuple of feature names.

    >>> resolve_features("amount, is_night")
    ('amount', 'is_night')

    Raises
    ------
    FeatureSetError
        An unknown name, a repeated one, or an empty list.
    """
    sets = feature_sets()
    if text.strip() in sets:
        return sets[text.strip()]
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    known = online_definitions()
    unknown = [name for name in names if name not in known]
    if ANOMALY_FEATURE in unknown:
        raise FeatureSetError(f"{ANOMALY_FEATURE} is a model input through --anomaly-input")
    if unknown or not names:
        raise FeatureSetError(
            f"unknown features {unknown or text!r}: name a set ({', '.join(sets)}) "
            f"or features among {', '.join(known)}"
        )
    if len(set(names)) != len(names):
        raise FeatureSetError("a feature is listed twice")
    return names


def describe_features(names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Each feature's definition as plain values (for manifests)."""
    known = online_definitions()
    described: dict[str, dict[str, Any]] = {}
    for name in names:
        if name == ANOMALY_FEATURE:
            described[name] = {"statistic": "isolation_forest", "window": None}
            continue
        definition = known[name]
        window = definition.window
        described[name] = {
            "statistic": definition.statistic,
            "argument": definition.argument,
            "window": None
            if window is None
            else {
                "entity": window.entity,
                "seconds": window.seconds,
                "lag_seconds": window.lag_seconds,
            },
        }
    return described


def features_for(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    """The features ``names`` of every row of ``frame`` (replay order), offline engine."""
    known = online_definitions()
    return compute_features(frame, definitions=[known[name] for name in names])
