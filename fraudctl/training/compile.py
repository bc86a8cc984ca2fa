"""Compile fitted scikit-learn estimators into the numpy-only models of the runtime.

``compile_estimator`` handles the binary classifiers (logistic regression, alone or after a
``StandardScaler`` in a ``Pipeline``; random forest and extra trees; histogram gradient
boosting on numerical features) and ``compile_anomaly_detector`` the isolation forest. The
result's ``to_state()`` loads in ``chalicelib.model.compiled`` without scikit-learn.

Tree compilation reads fitted internals (``tree_``, ``_predictors``, ``_baseline_prediction``,
``estimators_features_``) of scikit-learn 1.9; the reference tests compare every kind with
``predict_proba`` / ``score_samples`` so that a change of those internals fails loudly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    IsolationForest,
    RandomForestClassifier,
)
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from chalicelib.errors import FraudServiceError
from chalicelib.model.compiled import (
    BoostingModel,
    CompiledAnomalyModel,
    CompiledModel,
    ForestModel,
    LogisticModel,
    TreeEnsemble,
)


class UnsupportedModelError(FraudServiceError):
    """The estimator cannot be compiled: unsupported type or shape (not fitted, not binary,
    categorical splits), or feature names that do not match it."""


class _Tree(NamedTuple):
    """One tree in scikit-learn's layout: node arrays, leaves have ``left == right == -1``."""

    feature: np.ndarray
    threshold: np.ndarray
    missing_go_to_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray


def compile_estimator(estimator: BaseEstimator, feature_names: Sequence[str]) -> CompiledModel:
    """Compile a fitted binary classifier whose columns are ``feature_names``, in order.

    Supported: ``LogisticRegression``, ``Pipeline([StandardScaler, LogisticRegression])``,
    ``RandomForestClassifier``, ``ExtraTreesClassifier`` and ``HistGradientBoostingClassifier``
    without categorical features. The result's ``predict_proba`` equals the estimator's
    ``predict_proba(X)[:, 1]``: the probability of ``classes_[1]``.

    Raises
    ------
    UnsupportedModelError
        Any other estimator, an unfitted, multi-output or non-binary one, a gradient boosting
        model with categorical features, or ``feature_names`` not matching the fitted columns.
    ModelFormatError
        ``feature_names`` are not distinct strings.
    """
    names = _feature_names(estimator, feature_names)
    for supported, compiler in _COMPILERS:
        if isinstance(estimator, supported):
            return compiler(estimator, names)
    hint = "; use compile_anomaly_detector" if isinstance(estimator, IsolationForest) else ""
    raise UnsupportedModelError(f"cannot compile a {type(estimator).__name__}{hint}")


def compile_anomaly_detector(
    estimator: IsolationForest, feature_names: Sequence[str]
) -> CompiledAnomalyModel:
    """Compile a fitted ``IsolationForest``; ``anomaly_score`` equals ``-score_samples``.

    Raises
    ------
    UnsupportedModelError
        Not a fitted ``IsolationForest``, or ``feature_names`` not matching its columns.
    ModelFormatError
        ``feature_names`` are not distinct strings.
    """
    if not isinstance(estimator, IsolationForest):
        raise UnsupportedModelError(f"expected an IsolationForest, got {type(estimator).__name__}")
    names = _feature_names(estimator, feature_names)
    subsampled = estimator._max_features != estimator.n_features_in_
    trees = []
    for tree, columns in zip(estimator.estimators_, estimator.estimators_features_, strict=True):
        nodes = tree.tree_
        feature = nodes.feature
        if subsampled:  # the tree was grown on X[:, columns]; leaf features (-2) are ignored
            feature = np.asarray(columns)[np.maximum(feature, 0)]
        trees.append(
            _sklearn_tree(
                nodes,
                feature=feature,
                # Same operations, in the same order, as IsolationForest._compute_score_samples.
                value=nodes.compute_node_depths() + average_path_length(nodes.n_node_samples) - 1.0,
            )
        )
    normaliser = len(trees) * average_path_length(np.array([estimator._max_samples]))[0]
    return CompiledAnomalyModel(names, _flatten(trees, len(names), np.float32), normaliser)


def average_path_length(n_samples: np.ndarray) -> np.ndarray:
    """Average path length ``c(n)`` of an unsuccessful search in a binary search tree of
    ``n`` samples (Liu et al., 2008): 0 for ``n <= 1``, 1 for ``n == 2``, otherwise
    ``2 (ln(n - 1) + Euler's gamma) - 2 (n - 1) / n``.

    >>> average_path_length(np.array([1, 2, 256])).round(4)
    array([ 0.    ,  1.    , 10.2448])
    """
    n = np.asarray(n_samples, dtype=np.float64)
    many = np.maximum(n, 3.0)
    general = 2.0 * (np.log(many - 1.0) + np.euler_gamma) - 2.0 * (many - 1.0) / many
    return np.where(n <= 1, 0.0, np.where(n == 2, 1.0, general))


def _feature_names(estimator: BaseEstimator, feature_names: Sequence[str]) -> list[str]:
    try:
        check_is_fitted(estimator)
    except NotFittedError as exc:
        raise UnsupportedModelError(f"the {type(estimator).__name__} is not fitted") from exc
    names = list(feature_names)
    if len(names) != getattr(estimator, "n_features_in_", len(names)):
        raise UnsupportedModelError(
            f"{len(names)} feature names for an estimator fitted on {estimator.n_features_in_}"
        )
    fitted_names = getattr(estimator, "feature_names_in_", None)
    if fitted_names is not None and list(fitted_names) != names:
        raise UnsupportedModelError("feature_names differ from the names the estimator saw")
    return names


def _require_binary(estimator: BaseEstimator) -> None:
    if getattr(estimator, "n_outputs_", 1) != 1:
        raise UnsupportedModelError("only single-output binary classifiers compile")
    if len(estimator.classes_) != 2:
        raise UnsupportedModelError(
            f"only binary classifiers compile; this one has {len(estimator.classes_)} classes"
        )


def _compile_pipeline(pipeline: Pipeline, names: list[str]) -> CompiledModel:
    steps = [step for _, step in pipeline.steps]
    if len(steps) == 1 and isinstance(steps[0], LogisticRegression):
        return _compile_logistic(steps[0], names)
    if (
        len(steps) == 2
        and isinstance(steps[0], StandardScaler)
        and isinstance(steps[1], LogisticRegression)
    ):
        return _compile_logistic(steps[1], names, scaler=steps[0])
    kinds = ", ".join(type(step).__name__ for step in steps)
    raise UnsupportedModelError(
        f"a Pipeline compiles when it is [StandardScaler,] LogisticRegression, not [{kinds}]"
    )


def _compile_logistic(
    model: LogisticRegression, names: list[str], scaler: StandardScaler | None = None
) -> LogisticModel:
    _require_binary(model)
    mean = scale = None
    if scaler is not None and scaler.with_mean:
        mean = np.asarray(scaler.mean_, dtype=np.float64)
    if scaler is not None and scaler.with_std:
        scale = np.asarray(scaler.scale_, dtype=np.float64)
    return LogisticModel(
        names,
        coef=np.asarray(model.coef_[0], dtype=np.float64),
        intercept=float(model.intercept_[0]),
        mean=mean,
        scale=scale,
    )


def _compile_forest(
    forest: RandomForestClassifier | ExtraTreesClassifier, names: list[str]
) -> ForestModel:
    _require_binary(forest)
    trees = []
    for estimator in forest.estimators_:
        nodes = estimator.tree_
        # As DecisionTreeClassifier.predict_proba: class fractions renormalised per node.
        fractions = nodes.value[:, 0, :]
        total = fractions.sum(axis=1)
        total[total == 0.0] = 1.0
        trees.append(_sklearn_tree(nodes, feature=nodes.feature, value=fractions[:, 1] / total))
    return ForestModel(names, _flatten(trees, len(names), np.float32))


def _compile_boosting(model: HistGradientBoostingClassifier, names: list[str]) -> BoostingModel:
    _require_binary(model)
    if model.is_categorical_ is not None and model.is_categorical_.any():
        raise UnsupportedModelError("gradient boosting with categorical features cannot compile")
    trees = []
    for (predictor,) in model._predictors:
        nodes = predictor.nodes
        leaf = nodes["is_leaf"].astype(bool)
        left = np.where(leaf, -1, nodes["left"].astype(np.int64))
        right = np.where(leaf, -1, nodes["right"].astype(np.int64))
        trees.append(
            _Tree(
                feature=nodes["feature_idx"],
                threshold=nodes["num_threshold"],
                missing_go_to_left=nodes["missing_go_to_left"].astype(bool),
                left=left,
                right=right,
                value=_expected_values(nodes["value"], nodes["count"], left, right),
            )
        )
    baseline = float(model._baseline_prediction.ravel()[0])
    return BoostingModel(names, _flatten(trees, len(names), np.float64), baseline)


_Compiler = Callable[[Any, list[str]], CompiledModel]
_COMPILERS: tuple[tuple[type | tuple[type, ...], _Compiler], ...] = (
    (Pipeline, _compile_pipeline),
    (LogisticRegression, _compile_logistic),
    ((RandomForestClassifier, ExtraTreesClassifier), _compile_forest),
    (HistGradientBoostingClassifier, _compile_boosting),
)


def _sklearn_tree(nodes: Any, *, feature: np.ndarray, value: np.ndarray) -> _Tree:
    """A ``sklearn.tree._tree.Tree`` with its own split ``feature`` indices and node ``value``."""
    return _Tree(
        feature=feature,
        threshold=nodes.threshold,
        missing_go_to_left=nodes.missing_go_to_left.astype(bool),
        left=nodes.children_left,
        right=nodes.children_right,
        value=value,
    )


def _expected_values(
    value: np.ndarray, count: np.ndarray, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Leaf values kept; each internal node gets the training-count-weighted mean of its
    children (children follow their parent, so one backward pass suffices)."""
    expected = value.astype(np.float64)
    weight = count.astype(np.float64)
    for node in np.flatnonzero(left != -1)[::-1]:
        lo, hi = left[node], right[node]
        weight[node] = weight[lo] + weight[hi]
        expected[node] = (weight[lo] * expected[lo] + weight[hi] * expected[hi]) / weight[node]
    return expected


def _flatten(trees: Iterable[_Tree], n_features: int, threshold_dtype: type) -> TreeEnsemble:
    """Concatenate trees into one ``TreeEnsemble``, shifting child indices by tree offsets."""
    parts: list[_Tree] = []
    roots = []
    offset = 0
    for tree in trees:
        leaf = tree.left == -1
        roots.append(offset)
        parts.append(
            _Tree(
                feature=np.where(leaf, -1, tree.feature),
                threshold=np.where(leaf, 0.0, tree.threshold),
                missing_go_to_left=tree.missing_go_to_left,
                left=np.where(leaf, -1, tree.left + offset),
                right=np.where(leaf, -1, tree.right + offset),
                value=tree.value,
            )
        )
        offset += len(tree.value)
    joined = [np.concatenate(column) for column in zip(*parts, strict=True)]
    feature, threshold, missing_go_to_left, left, right, value = joined
    if threshold_dtype is np.float32:
        threshold = _float32_floor(threshold)
    return TreeEnsemble(
        feature=feature.astype(np.int32),
        threshold=threshold.astype(threshold_dtype),
        missing_go_to_left=missing_go_to_left.astype(bool),
        left=left.astype(np.int32),
        right=right.astype(np.int32),
        value=value.astype(np.float64),
        roots=np.array(roots, dtype=np.int32),
        n_features=n_features,
    )


def _float32_floor(threshold: np.ndarray) -> np.ndarray:
    """Largest float32 not above each float64 threshold: for any float32 ``x``,
    ``x <= threshold`` exactly when ``x <= _float32_floor(threshold)``.

    >>> _float32_floor(np.array([0.1, 0.5, 1e39])).tolist() == [
    ...     np.nextafter(np.float32(0.1), np.float32(0)), 0.5, np.finfo(np.float32).max]
    True
    """
    with np.errstate(over="ignore"):
        rounded = threshold.astype(np.float32)
    above = rounded.astype(np.float64) > threshold
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded
