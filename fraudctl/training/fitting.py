"""Fit a model as a ``ModelSpec`` describes it and compile it for the runtime.

``fit_model`` is what ``fraudctl train`` and ``fraudctl evaluate`` share: the same
estimator, the same compiled scorer, so evaluated figures are those of what is served.
With an anomaly model, the isolation forest is fitted first (no labels needed) and its
compiled score, the one the functions compute, becomes the classifier's extra input when
``anomaly_input`` is set.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import joblib
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import Pipeline

from chalicelib.model.scorer import ANOMALY_FEATURE, ModelScorer
from fraudctl.training.compile import compile_anomaly_detector, compile_estimator
from fraudctl.training.errors import TrainingError
from fraudctl.training.estimators import (
    ANOMALY_KIND,
    DEFAULT_KIND,
    MODEL_KINDS,
    ModelOptionError,
    make_estimator,
)
from fraudctl.training.featuresets import HANDBOOK_SET

ESTIMATOR_FILE = "estimator.joblib"


@dataclass(frozen=True)
class ModelSpec:
    """What to fit.

    Attributes
    ----------
    kind:
        One of ``MODEL_KINDS``; ``anomaly`` ships only an isolation forest.
    features:
        Model inputs (online feature names), in column order.
    params:
        Hyper-parameters of the estimator (over ``estimators.DEFAULT_PARAMS``).
    class_weight:
        ``None``, ``"balanced"`` or the fraud class's weight.
    anomaly:
        Ship an isolation forest too: every scored transaction gets ``anomaly_score``.
    anomaly_input:
        The classifier reads ``anomaly_score`` as an extra input (implies ``anomaly``).
    anomaly_params:
        Hyper-parameters of the isolation forest (``params`` when ``kind`` is ``anomaly``).
    seed, jobs:
        ``random_state`` of every estimator; ``n_jobs`` of forests.
    preset:
        The name of the preset it came from (``presets.PRESETS``), for manifests.

    Raises
    ------
    ModelOptionError
        Unknown kind or hyper-parameter, or contradictory options.
    """

    kind: str = DEFAULT_KIND
    features: tuple[str, ...] = HANDBOOK_SET
    params: Mapping[str, Any] = field(default_factory=dict)
    class_weight: str | float | None = None
    anomaly: bool = False
    anomaly_input: bool = False
    anomaly_params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    jobs: int | None = None
    preset: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ModelOptionError(
                f"unknown model kind {self.kind!r}; expected one of {MODEL_KINDS}"
            )
        if self.kind == ANOMALY_KIND and (self.anomaly_input or self.anomaly_params):
            raise ModelOptionError("an anomaly-only model takes its settings from --param")
        if not self.features:
            raise ModelOptionError("a model needs at least one feature")
        # Fail on a bad hyper-parameter now, before any data is read.
        self.classifier()
        self.detector()

    @property
    def ships_anomaly(self) -> bool:
        return self.kind == ANOMALY_KIND or self.anomaly or self.anomaly_input

    @property
    def needs_labels(self) -> bool:
        return self.kind != ANOMALY_KIND

    def classifier(self) -> BaseEstimator | None:
        """The unfitted classifier (``None`` for an anomaly-only model)."""
        if self.kind == ANOMALY_KIND:
            return None
        return make_estimator(self.kind, self.params, self.class_weight, self.seed, self.jobs)

    def detector(self) -> IsolationForest | None:
        """The unfitted isolation forest, when one is shipped."""
        if not self.ships_anomaly:
            return None
        params = self.params if self.kind == ANOMALY_KIND else self.anomaly_params
        return cast(
            IsolationForest, make_estimator(ANOMALY_KIND, params, None, self.seed, self.jobs)
        )

    def to_dict(self) -> dict[str, Any]:
        """The specification as plain values (for manifests and reports), with every
        hyper-parameter the estimators are built with (defaults included)."""
        return {
            "kind": self.kind,
            "features": list(self.features),
            "params": dict(self.params),
            "estimator_params": _plain_params(self.classifier()),
            "anomaly_estimator_params": _plain_params(self.detector()),
            "class_weight": self.class_weight,
            "anomaly": self.ships_anomaly,
            "anomaly_input": self.anomaly_input,
            "anomaly_params": dict(self.anomaly_params),
            "seed": self.seed,
            "preset": self.preset,
        }


def _plain_params(estimator: BaseEstimator | None) -> dict[str, Any] | None:
    """The final estimator's own hyper-parameters, as JSON-friendly values."""
    if estimator is None:
        return None
    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    return {
        name: value if value is None or isinstance(value, bool | int | float | str) else repr(value)
        for name, value in sorted(final.get_params(deep=False).items())
    }


@dataclass(frozen=True)
class FittedModel:
    """A fitted model: its compiled scorer, the scikit-learn estimators behind it, and each
    feature's median over the training rows."""

    spec: ModelSpec
    scorer: ModelScorer
    estimator: BaseEstimator | None
    detector: IsolationForest | None
    usual: dict[str, float]

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Decision scores of rows in ``spec.features`` order, by the compiled scorer."""
        return self.scorer.score(X).scores

    def estimator_bytes(self) -> bytes:
        """The fitted scikit-learn objects as a joblib file, for offline use only."""
        buffer = io.BytesIO()
        joblib.dump(
            {
                "classifier": self.estimator,
                "detector": self.detector,
                "features": list(self.spec.features),
                "classifier_inputs": list(self.scorer.input_names),
            },
            buffer,
            compress=3,
        )
        return buffer.getvalue()


def fit_model(spec: ModelSpec, X: np.ndarray, y: np.ndarray | None) -> FittedModel:
    """Fit ``spec`` on rows ``X`` (columns ``spec.features``) with labels ``y``.

    Raises
    ------
    TrainingError
        No rows, or a classifier without labels or with a single class.
    """
    if not len(X):
        raise TrainingError("no training rows")
    detector = spec.detector()
    anomaly = None
    if detector is not None:
        detector.fit(X)
        anomaly = compile_anomaly_detector(detector, spec.features)
    usual = {
        name: float(value) for name, value in zip(spec.features, np.median(X, axis=0), strict=True)
    }
    estimator = spec.classifier()
    if estimator is None:
        return FittedModel(spec, ModelScorer(None, anomaly), None, detector, usual)
    if y is None or len(np.unique(y)) < 2:
        raise TrainingError("a classifier needs labelled rows of both classes")
    inputs, names = X, list(spec.features)
    if spec.anomaly_input and anomaly is not None:
        inputs = np.column_stack([X, anomaly.anomaly_score(X)])
        names.append(ANOMALY_FEATURE)
    estimator.fit(inputs, y)
    compiled = compile_estimator(estimator, names)
    return FittedModel(spec, ModelScorer(compiled, anomaly), estimator, detector, usual)
