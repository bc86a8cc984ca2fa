"""The baselines' model: a compiled artifact's scikit-learn estimator behind the same
``ModelScorer`` interface, so that the scoring path runs unchanged with scikit-learn
deciding (``predict_proba`` and ``score_samples`` instead of the compiled numpy).

Explanations (reasons) still come from the compiled twin: scikit-learn has no additive
contributions, and the reasons step is not what the baselines compare.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from typing import Any

import joblib
import numpy as np

from chalicelib.model.artifact import LoadedModel
from chalicelib.model.compiled import CompiledAnomalyModel, CompiledModel
from chalicelib.model.scorer import ModelScorer


class _Twin:
    """A fitted scikit-learn estimator beside the compiled model it was compiled into."""

    def __init__(self, estimator: Any, compiled: CompiledModel | CompiledAnomalyModel) -> None:
        self.estimator = estimator
        self.compiled = compiled
        self.feature_names = compiled.feature_names
        self.output_space = compiled.output_space

    def contributions(self, inputs: np.ndarray) -> tuple[float, np.ndarray]:
        """The compiled twin's additive explanation of one row."""
        return self.compiled.contributions(inputs)


class SklearnClassifier(_Twin):
    """``CompiledModel``'s scoring interface over a fitted scikit-learn classifier."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """The positive class's probability per row (scikit-learn's ``predict_proba``)."""
        return self.estimator.predict_proba(X)[:, 1]

    def predict_proba_one(self, row: Sequence[float]) -> float:
        """``predict_proba`` of one row of numbers, as a one-row matrix."""
        return float(self.predict_proba(np.array([row], dtype=np.float64))[0])


class SklearnAnomaly(_Twin):
    """``CompiledAnomalyModel``'s scoring interface over a fitted ``IsolationForest``."""

    def anomaly_score(self, X: np.ndarray) -> np.ndarray:
        """Higher is more anomalous: minus scikit-learn's ``score_samples``."""
        return -self.estimator.score_samples(X)

    def anomaly_score_one(self, row: Sequence[float]) -> float:
        """``anomaly_score`` of one row of numbers, as a one-row matrix."""
        return float(self.anomaly_score(np.array([row], dtype=np.float64))[0])


def load_estimator(data: bytes) -> dict[str, Any]:
    """``estimator.joblib``'s content (``classifier``, ``detector``, feature lists)."""
    return joblib.load(io.BytesIO(data))


def sklearn_twin(model: LoadedModel, estimator: dict[str, Any]) -> LoadedModel:
    """``model`` with scikit-learn scoring: ``estimator`` must be the one it was compiled
    from (``fraudctl train --save-estimator``)."""
    scorer = model.scorer
    classifier = estimator.get("classifier")
    detector = estimator.get("detector")
    twin = ModelScorer(
        SklearnClassifier(classifier, scorer.classifier)  # type: ignore[arg-type]
        if classifier is not None and scorer.classifier is not None
        else None,
        SklearnAnomaly(detector, scorer.anomaly)  # type: ignore[arg-type]
        if detector is not None and scorer.anomaly is not None
        else None,
    )
    return dataclasses.replace(model, scorer=twin)
