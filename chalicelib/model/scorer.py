"""A classifier, an isolation forest, or both, applied to rows of named features.

An artifact may ship a classifier (the decision score is its fraud probability), an
isolation forest (every row also gets an ``anomaly_score``, available to rules), or only
the isolation forest (deployments without labels yet: the decision score *is* the anomaly
score). A classifier may read ``anomaly_score`` as one of its inputs; the scorer computes
it first and puts it in place.

Rows come in ``source_features`` order: the features the online engine must provide.

>>> from chalicelib.model.compiled import LogisticModel
>>> scorer = ModelScorer(LogisticModel(("amount",), coef=np.array([1.0]), intercept=-2.0), None)
>>> scorer.score(np.array([[2.0], [4.0]])).scores
array([0.5       , 0.88079708])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, cast

import numpy as np
from numpy.typing import ArrayLike

from chalicelib.model.compiled import (
    CompiledAnomalyModel,
    CompiledModel,
    FloatArray,
    ModelFormatError,
    ModelInputError,
)

ANOMALY_FEATURE = "anomaly_score"
"""Name of the isolation forest's score among the features (rules, classifier inputs)."""


class Scored(NamedTuple):
    """Scores of a batch of rows.

    Attributes
    ----------
    scores:
        The decision score per row: the classifier's probability, or the anomaly score
        when there is no classifier.
    anomaly_scores:
        The isolation forest's score per row, ``None`` without one.
    inputs:
        The rows as the deciding model read them (``ModelScorer.input_names`` order).
    """

    scores: FloatArray
    anomaly_scores: FloatArray | None
    inputs: FloatArray


class Explanation(NamedTuple):
    """``bias + contributions.sum()`` is the deciding model's output in ``space``."""

    bias: float
    contributions: FloatArray
    feature_names: tuple[str, ...]
    space: str


class ModelScorer:
    """Scores rows with a classifier and/or an anomaly model (see the module).

    Raises
    ------
    ModelFormatError
        Neither model given, a classifier reading ``anomaly_score`` without an anomaly
        model, or an anomaly model reading ``anomaly_score``.
    """

    def __init__(
        self, classifier: CompiledModel | None, anomaly: CompiledAnomalyModel | None
    ) -> None:
        if classifier is None and anomaly is None:
            raise ModelFormatError("an artifact needs a classifier, an anomaly model or both")
        if anomaly is not None and ANOMALY_FEATURE in anomaly.feature_names:
            raise ModelFormatError(f"the anomaly model cannot read {ANOMALY_FEATURE!r}")
        reads_anomaly = classifier is not None and ANOMALY_FEATURE in classifier.feature_names
        if reads_anomaly and anomaly is None:
            raise ModelFormatError(f"the classifier reads {ANOMALY_FEATURE!r} but none is shipped")
        self.classifier = classifier
        self.anomaly = anomaly
        names: list[str] = []
        for model in (classifier, anomaly):
            if model is not None:
                names += [n for n in model.feature_names if n not in (ANOMALY_FEATURE, *names)]
        self.source_features = tuple(names)
        position = {name: index for index, name in enumerate(names)}
        self._anomaly_positions = [position[n] for n in anomaly.feature_names] if anomaly else []
        self._anomaly_columns = np.array(self._anomaly_positions, dtype=np.intp)
        # The classifier's columns in source rows (-1: the anomaly score), as arrays for
        # batches and a list for one row.
        self._classifier_positions = (
            [position.get(n, -1) for n in classifier.feature_names] if classifier else []
        )
        columns = np.array(self._classifier_positions, dtype=np.intp)
        self._classifier_columns = np.maximum(columns, 0)
        self._anomaly_input = columns < 0

    @property
    def deciding_model(self) -> CompiledModel | CompiledAnomalyModel:
        """The model whose output is the decision score."""
        if self.classifier is not None:
            return self.classifier
        return cast(CompiledAnomalyModel, self.anomaly)

    @property
    def input_names(self) -> tuple[str, ...]:
        """Column names of ``Scored.inputs``."""
        return self.deciding_model.feature_names

    def score(self, X: ArrayLike) -> Scored:
        """Score rows of shape ``(n, len(source_features))`` (or one row of shape ``(f,)``).

        Raises
        ------
        ModelInputError
            Wrong shape, non-numeric values, or values a model refuses.
        """
        rows = np.asarray(X, dtype=np.float64)
        if rows.ndim == 1:
            rows = rows.reshape(1, -1)
        if rows.ndim != 2 or rows.shape[1] != len(self.source_features):
            raise ModelInputError(
                f"expected rows of {len(self.source_features)} features, got shape {rows.shape}"
            )
        anomaly_scores: FloatArray | None = None
        if self.anomaly is not None:
            anomaly_inputs = rows[:, self._anomaly_columns]
            anomaly_scores = self.anomaly.anomaly_score(anomaly_inputs)
            if self.classifier is None:
                return Scored(anomaly_scores, anomaly_scores, anomaly_inputs)
        classifier = cast(CompiledModel, self.classifier)
        inputs = rows[:, self._classifier_columns]
        if anomaly_scores is not None:
            inputs[:, self._anomaly_input] = anomaly_scores[:, None]
        return Scored(classifier.predict_proba(inputs), anomaly_scores, inputs)

    def score_one(self, row: Sequence[float]) -> Scored:
        """``score`` of one row of numbers in ``source_features`` order (a payment's),
        without an input matrix: the models' single-row paths (``predict_proba_one``,
        ``anomaly_score_one``), a few numpy calls where a batch makes dozens.

        Raises
        ------
        ModelInputError
            Wrong length, non-numeric values, or values a model refuses.
        """
        if len(row) != len(self.source_features):
            raise ModelInputError(
                f"expected a row of {len(self.source_features)} features, got {len(row)}"
            )
        anomaly: float | None = None
        if self.anomaly is not None:
            anomaly_inputs = [row[i] for i in self._anomaly_positions]
            anomaly = self.anomaly.anomaly_score_one(anomaly_inputs)
            if self.classifier is None:
                scores = np.array([anomaly])
                return Scored(scores, scores, np.array([anomaly_inputs], dtype=np.float64))
        classifier = cast(CompiledModel, self.classifier)
        inputs = [row[i] if i >= 0 else anomaly for i in self._classifier_positions]
        return Scored(
            np.array([classifier.predict_proba_one(cast(list[float], inputs))]),
            None if anomaly is None else np.array([anomaly]),
            np.array([inputs], dtype=np.float64),
        )

    def explain(self, inputs: ArrayLike) -> Explanation:
        """Additive explanation of one row of ``Scored.inputs`` by the deciding model."""
        model = self.deciding_model
        bias, contributions = model.contributions(inputs)
        return Explanation(bias, contributions, model.feature_names, model.output_space)
