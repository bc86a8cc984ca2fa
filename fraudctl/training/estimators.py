"""The model kinds ``fraudctl train`` and ``fraudctl evaluate`` fit, with their defaults.

| kind | estimator | defaults (besides scikit-learn's) |
|---|---|---|
| ``logistic`` | ``StandardScaler`` + ``LogisticRegression`` | ``max_iter=2000`` |
| ``forest`` | ``RandomForestClassifier`` | none (100 trees, as the Handbook) |
| ``extra_trees`` | ``ExtraTreesClassifier`` | none |
| ``boosting`` | ``HistGradientBoostingClassifier`` | ``early_stopping=False`` |
| ``anomaly`` | ``IsolationForest`` only: no labels needed | none |

Gradient boosting's automatic early stopping would hold out a *random* tenth of the
training rows, that is rows from the future of others; it is off unless asked for.
Every estimator gets ``random_state=seed``; forests and the isolation forest get
``n_jobs=jobs`` (results do not depend on it).

Hyper-parameters are given as ``NAME=VALUE`` strings (``n_estimators=300``,
``max_depth=null``); values are read as JSON, anything else as a string.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    IsolationForest,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

ANOMALY_KIND = "anomaly"
CLASSIFIER_KINDS = ("logistic", "forest", "extra_trees", "boosting")
MODEL_KINDS = (*CLASSIFIER_KINDS, ANOMALY_KIND)
DEFAULT_KIND = "logistic"

_CLASSES: dict[str, type[BaseEstimator]] = {
    "logistic": LogisticRegression,
    "forest": RandomForestClassifier,
    "extra_trees": ExtraTreesClassifier,
    "boosting": HistGradientBoostingClassifier,
    ANOMALY_KIND: IsolationForest,
}
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "logistic": {"max_iter": 2_000},
    "forest": {},
    "extra_trees": {},
    "boosting": {"early_stopping": False},
    ANOMALY_KIND: {},
}
_PARALLEL = ("forest", "extra_trees", ANOMALY_KIND)
CLASS_WEIGHTS = ("none", "balanced")


class ModelOptionError(ValueError):
    """An unknown model kind, hyper-parameter or class weight."""


def parse_params(items: Iterable[str]) -> dict[str, Any]:
    """``["n_estimators=300", "max_features=sqrt"]`` -> ``{"n_estimators": 300, ...}``.

    >>> parse_params(["C=0.5", "max_depth=null", "criterion=entropy"])
    {'C': 0.5, 'max_depth': None, 'criterion': 'entropy'}
    """
    params: dict[str, Any] = {}
    for item in items:
        name, separator, text = item.partition("=")
        if not separator or not name.strip():
            raise ModelOptionError(f"a hyper-parameter is NAME=VALUE, not {item!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        params[name.strip()] = value
    return params


def parse_class_weight(text: str) -> str | float | None:
    """``none`` -> ``None``, ``balanced``, or the weight of the fraud class (a number > 0)."""
    if text in CLASS_WEIGHTS:
        return None if text == "none" else text
    try:
        weight = float(text)
    except ValueError as exc:
        raise ModelOptionError(f"class weight is none, balanced or a number, not {text!r}") from exc
    if not weight > 0:
        raise ModelOptionError("the fraud class weight must be positive")
    return weight


def _class_weight(weight: str | float | None) -> str | dict[int, float] | None:
    return {0: 1.0, 1: float(weight)} if isinstance(weight, float) else weight


def make_estimator(
    kind: str,
    params: Mapping[str, Any] | None = None,
    class_weight: str | float | None = None,
    seed: int = 0,
    jobs: int | None = None,
) -> BaseEstimator:
    """An unfitted estimator of ``kind`` with defaults, then ``params``, applied.

    Raises
    ------
    ModelOptionError
        Unknown kind or hyper-parameter, or a class weight for the isolation forest.
    """
    if kind not in _CLASSES:
        raise ModelOptionError(f"unknown model kind {kind!r}; expected one of {MODEL_KINDS}")
    settings: dict[str, Any] = {"random_state": seed, **DEFAULT_PARAMS[kind]}
    if kind in _PARALLEL:
        settings["n_jobs"] = jobs
    if class_weight is not None:
        if kind == ANOMALY_KIND:
            raise ModelOptionError("the isolation forest takes no class weight")
        settings["class_weight"] = _class_weight(class_weight)
    settings.update(params or {})
    estimator_class = _CLASSES[kind]
    unknown = sorted(set(settings) - set(estimator_class().get_params()))
    if unknown:
        raise ModelOptionError(
            f"{estimator_class.__name__} has no hyper-parameter {', '.join(unknown)}"
        )
    estimator = estimator_class(**settings)
    try:
        estimator._validate_params()  # scikit-learn's own check, before any data is read
    except ValueError as exc:
        raise ModelOptionError(str(exc)) from exc
    if kind == "logistic":
        return Pipeline([("scale", StandardScaler()), ("model", estimator)])
    return estimator
