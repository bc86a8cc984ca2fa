"""Compiled models against scikit-learn: probabilities, contributions, states, failures.

Every reference is an independent computation: scikit-learn's ``predict_proba``,
``decision_function``, ``score_samples`` and ``decision_path``, or a scalar walk of its nodes.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    IsolationForest,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from threadpoolctl import threadpool_limits

from chalicelib.errors import FraudServiceError
from chalicelib.model.compiled import (
    MAX_PAIRS_PER_CHUNK,
    BoostingModel,
    CompiledAnomalyModel,
    CompiledModel,
    ForestModel,
    ModelFormatError,
    ModelInputError,
    TreeEnsemble,
    anomaly_model_from_state,
    model_from_state,
)
from fraudctl.training.compile import (
    UnsupportedModelError,
    compile_anomaly_detector,
    compile_estimator,
)

ROOT = Path(__file__).resolve().parents[2]
N_FEATURES = 15
NAMES = [f"f{index:02d}" for index in range(N_FEATURES)]
CONSTANT_FEATURE = 14
N_TRAIN = 2500
TOLERANCE = 1e-9
CLASSIFIERS = ("logistic_pipeline", "logistic", "random_forest", "extra_trees", "boosting")
TREE_CLASSIFIERS = ("random_forest", "extra_trees", "boosting")


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """scikit-learn's OpenMP threads only add latency spikes on small shared machines."""
    with threadpool_limits(limits=1):
        yield


@functools.cache
def dataset() -> tuple[np.ndarray, np.ndarray]:
    """5,000 rows, about 6% positive; columns 0-2 partly NaN (column 1 more so for fraud),
    column 5 discrete, column 14 constant, scales from 0.01 to 1,000."""
    rng = np.random.default_rng(20240501)
    n = 2 * N_TRAIN
    z = rng.normal(size=(n, N_FEATURES))
    X = z * np.geomspace(0.01, 1000.0, N_FEATURES) + rng.normal(size=N_FEATURES)
    X[:, 5] = rng.integers(0, 4, n)
    X[:, CONSTANT_FEATURE] = 3.0
    risk = 1.5 * z[:, 0] - z[:, 1] + z[:, 2] * z[:, 3] + 0.8 * (X[:, 5] == 3) - 3.6
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-risk))).astype(int)
    X[rng.random(n) < 0.15, 0] = np.nan
    X[(rng.random(n) < 0.4) & (y == 1), 1] = np.nan
    X[rng.random(n) < 0.05, 2] = np.nan
    return X, y


@dataclass(frozen=True)
class Case:
    """A fitted estimator, its compiled model and held-out rows it accepts."""

    estimator: Any
    model: CompiledModel
    X_test: np.ndarray

    def reference_proba(self, X: np.ndarray) -> np.ndarray:
        return self.estimator.predict_proba(X)[:, 1]

    def reference_output(self, X: np.ndarray) -> np.ndarray:
        """The model output in its additive space, computed by scikit-learn."""
        if self.model.output_space == "log_odds":
            return self.estimator.decision_function(X)
        return self.reference_proba(X)


ESTIMATORS: dict[str, Callable[[], BaseEstimator]] = {
    "logistic_pipeline": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=0.5)),
    "logistic": lambda: LogisticRegression(solver="newton-cholesky"),
    "random_forest": lambda: RandomForestClassifier(
        n_estimators=30, class_weight="balanced_subsample", random_state=1
    ),
    "extra_trees": lambda: ExtraTreesClassifier(
        n_estimators=30, max_features=0.5, min_samples_leaf=2, random_state=2
    ),
    "boosting": lambda: HistGradientBoostingClassifier(
        max_iter=60, early_stopping=False, random_state=3
    ),
}


@functools.cache
def case(name: str) -> Case:
    X, y = dataset()
    if name.startswith("logistic"):
        X = np.nan_to_num(X)
    estimator = ESTIMATORS[name]().fit(X[:N_TRAIN], y[:N_TRAIN])
    return Case(estimator, compile_estimator(estimator, NAMES), X[N_TRAIN:])


@functools.cache
def isolation_forest(max_features: float) -> tuple[IsolationForest, CompiledAnomalyModel]:
    X, _ = dataset()
    estimator = IsolationForest(n_estimators=40, max_features=max_features, random_state=4)
    estimator.fit(X[:N_TRAIN])
    return estimator, compile_anomaly_detector(estimator, NAMES)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_compiled_probabilities_match_sklearn_on_a_held_out_batch(name: str) -> None:
    # Given a compiled classifier and a held-out batch (tree batches span several chunks)
    fitted = case(name)
    if isinstance(fitted.model, ForestModel | BoostingModel):
        assert len(fitted.X_test) * fitted.model.trees.n_trees > MAX_PAIRS_PER_CHUNK
    # When the whole batch is scored
    proba = fitted.model.predict_proba(fitted.X_test)
    # Then it equals scikit-learn's probability of class 1
    assert proba.dtype == np.float64 and proba.shape == (len(fitted.X_test),)
    expected = fitted.reference_proba(fitted.X_test)
    np.testing.assert_allclose(proba, expected, rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_compiled_probabilities_match_sklearn_row_by_row(name: str) -> None:
    # Given single held-out rows, some with missing values
    fitted = case(name)
    rows = fitted.X_test[:: len(fitted.X_test) // 40]
    for row in rows:
        # When one 1-D row is scored
        proba = fitted.model.predict_proba(row)
        # Then it is a one-element array equal to scikit-learn's probability
        assert proba.shape == (1,)
        assert abs(proba[0] - fitted.reference_proba(row.reshape(1, -1))[0]) <= TOLERANCE


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_contributions_add_up_to_the_model_output(name: str) -> None:
    # Given a compiled classifier and held-out rows
    fitted = case(name)
    rows = fitted.X_test[:20]
    expected = fitted.reference_output(rows)
    for row, output in zip(rows, expected, strict=True):
        # When one row is explained
        bias, contributions = fitted.model.contributions(row)
        # Then bias plus contributions is scikit-learn's output in the model's additive space
        assert contributions.shape == (N_FEATURES,)
        assert abs(bias + contributions.sum() - output) <= TOLERANCE
        # And a constant feature contributes nothing (without standardisation a logistic
        # regression may use it as a second intercept)
        if name != "logistic":
            assert contributions[CONSTANT_FEATURE] == 0.0


def test_logistic_contributions_are_coefficients_times_standardised_values() -> None:
    # Given the compiled scaler + logistic regression pipeline
    fitted = case("logistic_pipeline")
    scaler, logistic = fitted.estimator[0], fitted.estimator[-1]
    row = fitted.X_test[7]
    # When a row is explained
    bias, contributions = fitted.model.contributions(row)
    # Then bias is the intercept and each contribution the coefficient times the z-score
    assert bias == pytest.approx(logistic.intercept_[0], abs=1e-12)
    expected = logistic.coef_[0] * scaler.transform(row.reshape(1, -1))[0]
    np.testing.assert_allclose(contributions, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["random_forest", "extra_trees"])
def test_forest_contributions_are_saabas_contributions_on_sklearn_decision_paths(
    name: str,
) -> None:
    # Given a compiled forest and scikit-learn's decision paths for a few rows
    fitted = case(name)
    forest = fitted.estimator
    for row in fitted.X_test[:5]:
        indicator, offsets = forest.decision_path(row.reshape(1, -1))
        expected = np.zeros(N_FEATURES)
        roots = []
        for tree, start in zip(forest.estimators_, offsets, strict=False):
            nodes = tree.tree_
            fraction = nodes.value[:, 0, 1] / nodes.value[:, 0, :].sum(axis=1)
            path = [i - start for i in indicator.indices if start <= i < start + nodes.node_count]
            roots.append(fraction[path[0]])
            for parent, child in itertools.pairwise(path):
                expected[nodes.feature[parent]] += fraction[child] - fraction[parent]
        # When the compiled model explains the row
        bias, contributions = fitted.model.contributions(row)
        # Then it credits value changes along each path to the split feature, tree-averaged
        assert bias == pytest.approx(np.mean(roots), abs=1e-12)
        np.testing.assert_allclose(contributions, expected / len(roots), rtol=0, atol=1e-12)


def test_boosting_contributions_are_saabas_contributions_on_count_weighted_node_values() -> None:
    # Given the compiled gradient boosting model and a scalar walk over its sklearn nodes
    fitted = case("boosting")
    estimator = fitted.estimator

    def walk(nodes: np.ndarray, row: np.ndarray) -> tuple[float, np.ndarray]:
        def mean_below(i: int) -> tuple[float, float]:
            if nodes["is_leaf"][i]:
                return float(nodes["value"][i]), float(nodes["count"][i])
            (lv, lc), (rv, rc) = mean_below(nodes["left"][i]), mean_below(nodes["right"][i])
            return (lc * lv + rc * rv) / (lc + rc), lc + rc

        contributions, i = np.zeros(N_FEATURES), 0
        while not nodes["is_leaf"][i]:
            x = row[nodes["feature_idx"][i]]
            go_left = (
                nodes["missing_go_to_left"][i] if np.isnan(x) else x <= nodes["num_threshold"][i]
            )
            child = nodes["left"][i] if go_left else nodes["right"][i]
            contributions[nodes["feature_idx"][i]] += mean_below(child)[0] - mean_below(i)[0]
            i = child
        return mean_below(0)[0], contributions

    for row in fitted.X_test[:3]:
        walks = [walk(predictor.nodes, row) for (predictor,) in estimator._predictors]
        # When the compiled model explains the row
        bias, contributions = fitted.model.contributions(row)
        # Then bias is baseline + expected tree values and contributions match the walk
        baseline = estimator._baseline_prediction.ravel()[0]
        assert bias == pytest.approx(baseline + sum(b for b, _ in walks), abs=1e-9)
        np.testing.assert_allclose(contributions, sum(c for _, c in walks), rtol=0, atol=1e-9)


def test_boosting_case_exercises_missing_value_routes() -> None:
    # Given the gradient boosting estimator fitted on data with informative NaN
    predictors = [predictor.nodes for (predictor,) in case("boosting").estimator._predictors]
    inner = np.concatenate([nodes[nodes["is_leaf"] == 0] for nodes in predictors])
    # Then its trees route NaN both ways and split NaN from all values (+inf threshold),
    # so the reference tests above cover every missing-value path
    assert set(inner["missing_go_to_left"]) == {0, 1}
    assert np.isposinf(inner["num_threshold"]).any()


@pytest.mark.parametrize("max_features", [1.0, 0.6])
def test_isolation_forest_anomaly_score_is_negated_score_samples(max_features: float) -> None:
    # Given an isolation forest (all features, or a feature subset per tree) and its compiled form
    estimator, model = isolation_forest(max_features)
    X_test = dataset()[0][N_TRAIN:]
    # When a batch and single rows are scored
    scores = model.anomaly_score(X_test)
    singles = [model.anomaly_score(row)[0] for row in X_test[:30]]
    # Then both equal -score_samples
    expected = -estimator.score_samples(X_test)
    np.testing.assert_allclose(scores, expected, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(singles, expected[:30], rtol=0, atol=TOLERANCE)


def test_isolation_forest_of_single_samples_scores_one_half_like_sklearn() -> None:
    # Given an isolation forest whose trees each hold one sample (path length normaliser 0)
    X = dataset()[0][:50]
    estimator = IsolationForest(n_estimators=5, max_samples=1, random_state=0).fit(X)
    # When compiled and scored
    scores = compile_anomaly_detector(estimator, NAMES).anomaly_score(X)
    # Then the scores equal scikit-learn's
    np.testing.assert_allclose(scores, -estimator.score_samples(X), rtol=0, atol=TOLERANCE)


@functools.cache
def _threshold_ties(name: str) -> list[tuple[int, float]]:
    """(column, value) pairs on and beside every finite split threshold of a fitted model
    (float32 neighbours where scikit-learn compares in float32)."""
    if name == "boosting":
        nodes = [p.nodes for (p,) in case(name).estimator._predictors]
        inner = np.concatenate([n[n["is_leaf"] == 0] for n in nodes])
        columns, thresholds = inner["feature_idx"], inner["num_threshold"]
        beside = [np.nextafter(thresholds, -np.inf), np.nextafter(thresholds, np.inf)]
    else:
        trees: Iterable[tuple[Any, np.ndarray]]
        if name == "isolation_forest":
            estimator, _ = isolation_forest(0.6)
            trees = zip(estimator.estimators_, estimator.estimators_features_, strict=True)
        else:
            trees = ((tree, np.arange(N_FEATURES)) for tree in case(name).estimator.estimators_)
        pairs = [
            (cols[t.tree_.feature[inner]], t.tree_.threshold[inner])
            for t, cols in trees
            for inner in [t.tree_.children_left != -1]
        ]
        columns = np.concatenate([c for c, _ in pairs])
        thresholds = np.concatenate([v for _, v in pairs])
        nearest = thresholds.astype(np.float32)
        up, down = np.float32(np.inf), np.float32(-np.inf)
        beside = [nearest, np.nextafter(nearest, down), np.nextafter(nearest, up)]
    values = np.concatenate([thresholds, *beside]).astype(np.float64)
    columns = np.tile(columns, 1 + len(beside))
    finite = np.isfinite(values)
    return list(zip(columns[finite].tolist(), values[finite].tolist(), strict=True))


@st.composite
def perturbed_rows(draw: st.DrawFn, name: str) -> np.ndarray:
    """Held-out rows with some values set on or beside split thresholds, or to extremes
    (any float32, NaN included; for gradient boosting any float64 including infinities)."""
    pool, ties = dataset()[0][N_TRAIN:], _threshold_ties(name)
    extreme = (
        st.floats(allow_nan=True)
        if name == "boosting"
        else st.floats(width=32, allow_nan=True, allow_infinity=False)
    )
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        row = pool[draw(st.integers(0, len(pool) - 1))].copy()
        for column, value in draw(st.lists(st.sampled_from(ties), max_size=8)):
            row[column] = value
        for column in draw(st.lists(st.integers(0, N_FEATURES - 1), max_size=3)):
            row[column] = draw(extreme)
        rows.append(row)
    return np.array(rows)


@pytest.mark.parametrize("name", [*TREE_CLASSIFIERS, "isolation_forest"])
def test_tree_models_match_sklearn_on_threshold_ties_and_extreme_values(name: str) -> None:
    if name == "isolation_forest":
        estimator, anomaly_model = isolation_forest(0.6)
        compiled, reference = anomaly_model.anomaly_score, lambda X: -estimator.score_samples(X)
        one = anomaly_model.anomaly_score_one
    else:
        fitted = case(name)
        compiled, reference = fitted.model.predict_proba, fitted.reference_proba
        one = fitted.model.predict_proba_one

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(rows=perturbed_rows(name))
    def check(rows: np.ndarray) -> None:
        # Given rows with values on, just below and just above split thresholds, or extreme
        # When scored by the compiled model, as a batch, one by one (as arrays and as
        # lists of floats), and by scikit-learn
        # Then all agree
        expected = reference(rows)
        np.testing.assert_allclose(compiled(rows), expected, rtol=0, atol=TOLERANCE)
        singles = [compiled(row.reshape(1, -1))[0] for row in rows]
        np.testing.assert_allclose(singles, expected, rtol=0, atol=TOLERANCE)
        np.testing.assert_array_equal([one(row.tolist()) for row in rows], singles)

    check()


@pytest.mark.parametrize("name", [*TREE_CLASSIFIERS, "isolation_forest"])
def test_one_row_scores_exactly_as_in_a_batch(name: str) -> None:
    """A row alone (the API's case) goes through ensembles of small trees, as all of these
    are, by per-node decisions, a batch level by level: both reach the same leaves, so the
    scores are equal to the last bit."""
    # Given held-out rows, some with missing values, others with infinite ones
    rows = dataset()[0][N_TRAIN:][:200].copy()
    rows[::9, 3] = np.inf
    rows[::11, 5] = -np.inf
    if name == "isolation_forest":
        model = isolation_forest(0.6)[1]
        score, one = model.anomaly_score, model.anomaly_score_one
    else:
        score, one = case(name).model.predict_proba, case(name).model.predict_proba_one
    # When scored as one batch, row by row, and row by row as lists of floats (the API's)
    batch = score(rows)
    singles = np.array([score(row)[0] for row in rows])
    lists = np.array([one(row.tolist()) for row in rows])
    # Then the scores are identical
    assert np.isnan(rows).any()
    np.testing.assert_array_equal(singles, batch)
    np.testing.assert_array_equal(lists, batch)


def _caterpillars(
    n_trees: int, depth: int, seed: int, n_features: int = N_FEATURES
) -> TreeEnsemble:
    """Trees whose every split has a leaf on the left and the next split (or, last, a
    leaf) on the right: ``2 * depth + 1`` nodes each, random features and thresholds; with
    one feature, every split sends NaN left (all nodes read one column of the widened
    row)."""
    rng = np.random.default_rng(seed)
    per_tree = 2 * depth + 1
    n_nodes = n_trees * per_tree
    node = np.arange(n_nodes, dtype=np.int32)
    inner = (node % per_tree) % 2 == 0
    inner[per_tree - 1 :: per_tree] = False
    return TreeEnsemble(
        feature=np.where(inner, rng.integers(0, n_features, n_nodes), 0).astype(np.int32),
        threshold=rng.normal(size=n_nodes),
        missing_go_to_left=rng.random(n_nodes) < (0.5 if n_features > 1 else 1.0),
        left=np.where(inner, node + 1, -1).astype(np.int32),
        right=np.where(inner, node + 2, -1).astype(np.int32),
        value=rng.normal(size=n_nodes),
        roots=np.arange(0, n_nodes, per_tree, dtype=np.int32),
        n_features=n_features,
    )


def test_one_row_through_an_ensemble_of_more_nodes_than_int16_numbers_as_in_a_batch() -> None:
    # Given 1,150 trees of depth 14 (33,350 nodes: node numbers beyond int16, still few
    # enough per level for per-node decisions) and rows with missing values
    trees = _caterpillars(1_150, 14, seed=5)
    assert trees.depth == 14 and len(trees.value) > np.iinfo(np.int16).max
    rows = np.random.default_rng(6).normal(size=(40, N_FEATURES))
    rows[::3, 2] = np.nan
    # When each row is summed alone and the rows as a batch (level by level)
    alone = [trees.leaf_sum_one(row.tolist()) for row in rows]
    # Then the sums are identical
    np.testing.assert_array_equal(alone, trees.leaf_sum(rows))


def test_one_row_through_trees_whose_nodes_all_read_one_value_as_in_a_batch() -> None:
    # Given trees on one feature, NaN sent left everywhere, and values with NaN among them
    trees = _caterpillars(50, 6, seed=7, n_features=1)
    rows = np.random.default_rng(8).normal(size=(30, 1))
    rows[::4, 0] = np.nan
    # When each row is summed alone and the rows as a batch
    alone = [trees.leaf_sum_one(row.tolist()) for row in rows]
    # Then the sums are identical
    np.testing.assert_array_equal(alone, trees.leaf_sum(rows))


@pytest.mark.parametrize("name", ["logistic", "logistic_pipeline"])
def test_logistic_row_of_floats_scores_as_in_a_batch_to_1e15(name: str) -> None:
    # Given held-out rows and the logistic model's batch probabilities
    fitted = case(name)
    rows = fitted.X_test[:300]
    batch = fitted.model.predict_proba(rows)
    # When each row is scored alone as a list of floats
    singles = [fitted.model.predict_proba_one(row.tolist()) for row in rows]
    # Then each agrees with the batch to rounding, and with scikit-learn
    np.testing.assert_allclose(singles, batch, rtol=0, atol=1e-15)
    np.testing.assert_allclose(singles, fitted.reference_proba(rows), rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_state_round_trips_through_joblib(name: str, tmp_path: Path) -> None:
    # Given a compiled classifier saved with joblib
    fitted = case(name)
    joblib.dump(fitted.model.to_state(), tmp_path / "model.joblib")
    # When it is loaded and rebuilt
    loaded = model_from_state(joblib.load(tmp_path / "model.joblib"))
    # Then it is the same model: kind, names and identical scores and explanations
    assert (loaded.kind, loaded.feature_names) == (fitted.model.kind, tuple(NAMES))
    assert loaded.output_space == fitted.model.output_space
    rows = fitted.X_test[:100]
    np.testing.assert_array_equal(loaded.predict_proba(rows), fitted.model.predict_proba(rows))
    bias, contributions = loaded.contributions(rows[0])
    expected_bias, expected_contributions = fitted.model.contributions(rows[0])
    assert bias == expected_bias
    np.testing.assert_array_equal(contributions, expected_contributions)


def test_anomaly_state_round_trips_through_joblib(tmp_path: Path) -> None:
    # Given a compiled isolation forest saved with joblib
    _, model = isolation_forest(0.6)
    joblib.dump(model.to_state(), tmp_path / "iforest.joblib")
    # When loaded and rebuilt
    loaded = anomaly_model_from_state(joblib.load(tmp_path / "iforest.joblib"))
    # Then it scores exactly as before
    rows = dataset()[0][-100:]
    np.testing.assert_array_equal(loaded.anomaly_score(rows), model.anomaly_score(rows))


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biuf"
    return value is None or type(value) in (str, int, float, bool)


def test_states_hold_only_numpy_arrays_and_plain_values() -> None:
    # Given every compiled model
    states = [case(name).model.to_state() for name in CLASSIFIERS]
    states.append(isolation_forest(0.6)[1].to_state())
    # Then each state is numpy arrays and plain values only, with compact tree arrays
    for state in states:
        assert _plain(state), state["kind"]
        trees = state.get("trees")
        if trees is not None:
            assert {trees[key].dtype for key in ("feature", "left", "right", "roots")} == {
                np.dtype(np.int32)
            }
    assert _plain({"ok": [1, 2.0, None]}) and not _plain({"bad": np.array([object()])})


def test_fresh_interpreter_scores_states_without_sklearn_or_scipy(tmp_path: Path) -> None:
    # Given states of every kind saved with joblib, and what scikit-learn scores
    rows = dataset()[0][-5:]
    expected = {}
    for name in CLASSIFIERS:
        fitted = case(name)
        joblib.dump(fitted.model.to_state(), tmp_path / f"{name}.joblib")
        scored = np.nan_to_num(rows) if name.startswith("logistic") else rows
        expected[name] = fitted.reference_proba(scored).tolist()
    estimator, anomaly_model = isolation_forest(0.6)
    joblib.dump(anomaly_model.to_state(), tmp_path / "isolation_forest.joblib")
    expected["isolation_forest"] = (-estimator.score_samples(rows)).tolist()
    np.save(tmp_path / "rows.npy", rows)
    script = textwrap.dedent(
        """
        import importlib.abc, json, sys
        from pathlib import Path

        class Blocked(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] in ("sklearn", "scipy"):
                    raise ImportError(f"{name} is not installed in the Lambda runtime")

        sys.meta_path.insert(0, Blocked())
        import joblib
        import numpy as np
        import chalicelib.model.compiled as compiled

        folder = Path(sys.argv[1])
        rows = np.load(folder / "rows.npy")
        scores = {}
        for path in sorted(folder.glob("*.joblib")):
            state = joblib.load(path)
            if state["kind"] == "isolation_forest":
                scores[path.stem] = compiled.anomaly_model_from_state(state).anomaly_score(rows)
            else:
                X = np.nan_to_num(rows) if state["kind"] == "logistic" else rows
                scores[path.stem] = compiled.model_from_state(state).predict_proba(X)
        loaded = sorted(m for m in sys.modules if m.partition(".")[0] in ("sklearn", "scipy"))
        print(json.dumps({"module": compiled.__file__, "loaded": loaded,
                          "scores": {k: v.tolist() for k, v in scores.items()}}))
        """
    )
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    # When a fresh interpreter that cannot import them loads and scores the states
    completed = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=environment,
        timeout=60,
    )
    # Then it succeeds, imports neither, and scores as scikit-learn does
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["loaded"] == []
    assert Path(report["module"]).is_relative_to(ROOT)
    assert sorted(report["scores"]) == sorted(expected)
    for name, scores in report["scores"].items():
        np.testing.assert_allclose(scores, expected[name], rtol=0, atol=TOLERANCE, err_msg=name)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    """A mutation setting ``state[a][b][i]`` for ``path`` "a.b.i" (numeric parts index)."""

    def mutate(state: dict[str, Any]) -> dict[str, Any]:
        keys = [int(key) if key.lstrip("-").isdigit() else key for key in path.split(".")]
        target: Any = state
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
        return state

    return mutate


def _drop(*path: str) -> Callable[[dict[str, Any]], Any]:
    def mutate(state: dict[str, Any]) -> dict[str, Any]:
        target = state
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        return state

    return mutate


MALFORMED_STATES: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "not a mapping": ("logistic", lambda state: list(state)),
    "future format version": ("logistic", _set("format_version", 2)),
    "unknown kind": ("logistic", _set("kind", "svm")),
    "missing coefficients": ("logistic", _drop("coef")),
    "coefficients of the wrong length": ("logistic", _set("coef", np.zeros(N_FEATURES - 1))),
    "coefficients as a list": ("logistic", _set("coef", [0.0] * N_FEATURES)),
    "coefficients of float32": ("logistic", _set("coef", np.zeros(N_FEATURES, np.float32))),
    "zero scale": ("logistic", _set("scale.3", 0.0)),
    "infinite intercept": ("logistic", _set("intercept", float("inf"))),
    "duplicate feature names": ("logistic", _set("feature_names.1", "f00")),
    "missing trees": ("random_forest", _drop("trees")),
    "missing roots": ("random_forest", _drop("trees", "roots")),
    "child pointing at itself": ("random_forest", _set("trees.left.0", 0)),
    "child out of range": ("random_forest", _set("trees.right.0", 10**9)),
    "child shared by two parents": ("random_forest", _set("trees.right.0", 1)),
    "leaf with a right child": ("random_forest", _set("trees.right.-1", 2)),
    "split feature out of range": ("random_forest", _set("trees.feature.0", N_FEATURES)),
    "NaN threshold": ("random_forest", _set("trees.threshold.0", np.nan)),
    "NaN node value": ("random_forest", _set("trees.value.0", np.nan)),
    "float64 thresholds in a forest": (
        "random_forest",
        lambda state: _set("trees.threshold", state["trees"]["threshold"].astype(np.float64))(
            state
        ),
    ),
    "float32 thresholds in boosting": (
        "boosting",
        lambda state: _set("trees.threshold", state["trees"]["threshold"].astype(np.float32))(
            state
        ),
    ),
    "missing baseline": ("boosting", _drop("baseline")),
    "isolation forest as a classifier": ("isolation_forest", lambda state: state),
}


@pytest.mark.parametrize("description", MALFORMED_STATES)
def test_malformed_state_raises_model_format_error(description: str) -> None:
    # Given a valid state broken in one way
    source, mutate = MALFORMED_STATES[description]
    model = isolation_forest(0.6)[1] if source == "isolation_forest" else case(source).model
    state = mutate(copy.deepcopy(model.to_state()))
    # When it is rebuilt, Then the specific error is raised
    with pytest.raises(ModelFormatError):
        model_from_state(state)


def test_anomaly_loader_refuses_classifier_states() -> None:
    # Given a classifier state, When loaded as an anomaly model, Then it is refused
    with pytest.raises(ModelFormatError, match="isolation_forest"):
        anomaly_model_from_state(case("random_forest").model.to_state())


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("random_forest", np.zeros(N_FEATURES - 1)),
        ("random_forest", np.zeros((2, 3, N_FEATURES))),
        ("boosting", [["a"] * N_FEATURES]),
        ("logistic", np.full(N_FEATURES, np.nan)),
        ("logistic_pipeline", np.full(N_FEATURES, np.inf)),
    ],
    ids=["short row", "3-D batch", "strings", "NaN for logistic", "inf for logistic"],
)
def test_rows_the_model_cannot_score_raise_model_input_error(name: str, rows: Any) -> None:
    # Given rows of the wrong shape or values, When scored, Then the input is refused
    with pytest.raises(ModelInputError):
        case(name).model.predict_proba(rows)


@pytest.mark.parametrize(
    ("name", "row", "message"),
    [
        ("random_forest", [0.0] * (N_FEATURES - 1), "row of 15 features"),
        ("isolation_forest", [0.0] * (N_FEATURES + 1), "row of 15 features"),
        ("boosting", ["a"] * N_FEATURES, "must be numbers"),
        ("boosting", [None] * N_FEATURES, "must be numbers"),
        ("logistic", [0.0] * (N_FEATURES - 1) + [float("nan")], "finite"),
        ("logistic_pipeline", [float("-inf")] + [0.0] * (N_FEATURES - 1), "finite"),
    ],
    ids=["short row", "long row", "strings", "None", "NaN for logistic", "inf for logistic"],
)
def test_a_row_of_floats_the_model_cannot_score_raises_model_input_error(
    name: str, row: list[Any], message: str
) -> None:
    # Given one row of the wrong length or values
    if name == "isolation_forest":
        one = isolation_forest(0.6)[1].anomaly_score_one
    else:
        one = case(name).model.predict_proba_one
    # When scored alone, Then the input is refused, saying why
    with pytest.raises(ModelInputError, match=message):
        one(row)


def test_contributions_refuse_more_than_one_row() -> None:
    # Given two rows, When explained together, Then the input is refused
    with pytest.raises(ModelInputError, match="one row"):
        case("boosting").model.contributions(case("boosting").X_test[:2])


def test_empty_batch_scores_to_an_empty_array() -> None:
    # Given no rows, When scored, Then the result is empty
    for name in CLASSIFIERS:
        assert case(name).model.predict_proba(np.empty((0, N_FEATURES))).shape == (0,)


def _fitted(estimator: BaseEstimator, n_classes: int = 2, n_outputs: int = 1) -> BaseEstimator:
    X, _ = dataset()
    X = np.nan_to_num(X[:300])
    y = np.arange(len(X)) % n_classes
    return estimator.fit(X, y if n_outputs == 1 else np.column_stack([y] * n_outputs))


@pytest.mark.parametrize(
    ("estimator", "names", "message"),
    [
        (lambda: _fitted(GradientBoostingClassifier(n_estimators=2)), NAMES, "cannot compile"),
        (lambda: _fitted(IsolationForest(n_estimators=2)), NAMES, "compile_anomaly_detector"),
        (
            lambda: _fitted(LogisticRegression(solver="newton-cholesky"), n_classes=3),
            NAMES,
            "binary",
        ),
        (lambda: _fitted(RandomForestClassifier(n_estimators=2), n_outputs=2), NAMES, "output"),
        (lambda: _fitted(make_pipeline(MinMaxScaler(), LogisticRegression())), NAMES, "Pipeline"),
        (lambda: _fitted(RandomForestClassifier(n_estimators=2)), NAMES[:-1], "feature names"),
        (lambda: RandomForestClassifier(), NAMES, "not fitted"),
        (
            lambda: _fitted(HistGradientBoostingClassifier(max_iter=2, categorical_features=[5])),
            NAMES,
            "categorical",
        ),
    ],
    ids=[
        "gradient boosting (not histogram)",
        "isolation forest as a classifier",
        "multiclass",
        "multi-output",
        "pipeline with another scaler",
        "names of the wrong length",
        "unfitted",
        "categorical features",
    ],
)
def test_compile_estimator_rejects_what_it_cannot_compile(
    estimator: Callable[[], BaseEstimator], names: list[str], message: str
) -> None:
    # Given an estimator the compiler does not support, When compiled, Then the error says why
    with pytest.raises(UnsupportedModelError, match=message) as raised:
        compile_estimator(estimator(), names)
    assert isinstance(raised.value, FraudServiceError)


def test_compile_anomaly_detector_rejects_classifiers() -> None:
    with pytest.raises(UnsupportedModelError, match="IsolationForest"):
        compile_anomaly_detector(case("random_forest").estimator, NAMES)
