"""Latency and throughput of compiled models against scikit-learn, on generated data.

Run from the repository root: ``python -m bench.bench_compiled [--calls N]``. Prints, per
model, the median and 99th percentile latency of scoring one row (``predict_proba``, and
``contributions`` for the compiled model) and the time and rows per second of batches of 10
and 1,000 rows. scikit-learn runs on one thread, as on a one-vCPU Lambda function (its
OpenMP threads otherwise dominate gradient boosting latency on small shared machines).
Figures depend on the machine; compare columns of the same run only.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from chalicelib.model.compiled import CompiledAnomalyModel, CompiledModel
from fraudctl.training.compile import compile_anomaly_detector, compile_estimator

N_ROWS = 20_000
N_FEATURES = 15
BATCH_SIZES = (10, 1000)
SKLEARN_CALL_SHARE = 10
"""scikit-learn is timed on 1/SKLEARN_CALL_SHARE of the calls: it is that much slower."""


def generated_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``N_FEATURES`` features with about 5% positives and NaN in two columns."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(N_ROWS, N_FEATURES))
    X = z * np.geomspace(0.1, 100.0, N_FEATURES)
    risk = 1.5 * z[:, 0] - z[:, 1] + z[:, 2] * z[:, 3] + 0.5 * z[:, 4] ** 2 - 4.0
    y = (rng.random(N_ROWS) < 1.0 / (1.0 + np.exp(-risk))).astype(int)
    X[rng.random(N_ROWS) < 0.1, 0] = np.nan
    X[(rng.random(N_ROWS) < 0.3) & (y == 1), 1] = np.nan
    return X, y


def timings(score: Callable[[np.ndarray], Any], rows: list[np.ndarray]) -> np.ndarray:
    """Seconds per call of ``score`` on each element of ``rows`` (after one warm-up call)."""
    score(rows[0])
    seconds = np.empty(len(rows))
    for index, row in enumerate(rows):
        start = time.perf_counter()
        score(row)
        seconds[index] = time.perf_counter() - start
    return seconds


def report(label: str, seconds: np.ndarray, rows_per_call: int = 1) -> None:
    median, p99 = np.median(seconds), np.percentile(seconds, 99)
    print(
        f"  {label:<34} median {median * 1e6:10.1f} us   p99 {p99 * 1e6:10.1f} us"
        f"   {rows_per_call / median:12,.0f} rows/s"
    )


def bench_model(
    name: str,
    compiled: Callable[[np.ndarray], Any],
    reference: Callable[[np.ndarray], Any],
    X: np.ndarray,
    calls: int,
    explain: Callable[[np.ndarray], Any] | None = None,
) -> None:
    """Print single-row and batch figures of ``compiled`` and ``reference`` on rows of ``X``."""
    print(name)
    singles = [X[i : i + 1] for i in range(calls)]
    report("compiled, 1 row", timings(compiled, singles))
    if explain is not None:
        report("compiled contributions, 1 row", timings(explain, singles))
    report("scikit-learn, 1 row", timings(reference, singles[: calls // SKLEARN_CALL_SHARE]))
    for size in BATCH_SIZES:
        repeats = max(5, calls * 10 // size)
        batches = [X[(i * size) % (len(X) - size) :][:size] for i in range(repeats)]
        report(f"compiled, {size} rows", timings(compiled, batches), size)
        sklearn_batches = batches[: max(3, repeats // SKLEARN_CALL_SHARE)]
        report(f"scikit-learn, {size} rows", timings(reference, sklearn_batches), size)


def describe(model: CompiledModel | CompiledAnomalyModel) -> str:
    """Kind, tree shape and the size of the state's arrays."""
    state = model.to_state()
    arrays = [*state.values(), *state.get("trees", {}).values()]
    size = sum(array.nbytes for array in arrays if isinstance(array, np.ndarray))
    trees = getattr(model, "trees", None)
    shape = ""
    if trees is not None:
        shape = f", {trees.n_trees} trees, {len(trees.value)} nodes, depth {trees.depth}"
    return f"{model.kind}{shape}, state arrays {size / 1024:.1f} KiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="single-row calls per model")
    calls = parser.parse_args().calls
    X, y = generated_data()
    train, test = slice(0, N_ROWS // 2), slice(N_ROWS // 2, None)
    X_complete = np.nan_to_num(X)
    names = [f"f{index}" for index in range(N_FEATURES)]
    classifiers = [
        (
            "logistic regression (scaled)",
            make_pipeline(StandardScaler(), LogisticRegression()),
            X_complete,
        ),
        (
            "random forest, 100 trees, max depth 20",
            RandomForestClassifier(n_estimators=100, max_depth=20, n_jobs=1, random_state=0),
            X,
        ),
        (
            "histogram gradient boosting, 100 iterations",
            HistGradientBoostingClassifier(max_iter=100, early_stopping=False, random_state=0),
            X,
        ),
    ]
    for label, estimator, data in classifiers:
        estimator.fit(data[train], y[train])
        model = compile_estimator(estimator, names)
        gap = np.abs(model.predict_proba(data[test]) - estimator.predict_proba(data[test])[:, 1])
        bench_model(
            f"{label}: {describe(model)}; max |compiled - sklearn| {gap.max():.1e}",
            model.predict_proba,
            estimator.predict_proba,
            data[test],
            calls,
            explain=model.contributions,
        )
    forest = IsolationForest(n_estimators=100, random_state=0).fit(X[train])
    anomaly = compile_anomaly_detector(forest, names)
    gap = np.abs(anomaly.anomaly_score(X[test]) + forest.score_samples(X[test]))
    bench_model(
        f"isolation forest, 100 trees: {describe(anomaly)}; max gap {gap.max():.1e}",
        anomaly.anomaly_score,
        forest.score_samples,
        X[test],
        calls,
    )


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        main()
