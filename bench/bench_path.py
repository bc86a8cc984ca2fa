"""Item 1: one transaction through the whole scoring path, and the model alone.

Run from the repository root: ``python -m bench.bench_path [--calls N]``.

The path is what the API does for a payment, in this process: validation
(``parse_transaction``), one fetch of decisions, state and list items from the store,
features, rules (the default pack), the model, the decision and its reasons in words,
the commit. The store is the in-memory one (``MemoryStore``; DynamoDB's round trips are
item 5's subject), primed with the history of simulated customers so that every feature
reads real state. Figures: median and p99 per transaction, beside the same path with
the scikit-learn estimator of a model like the default deciding (``bench.sklearn_twin``),
timed on the same transactions, alternating.

The model alone, on one row as the path scores a payment: the compiled classifier's
``predict_proba_one`` (the row's floats, no matrix) against scikit-learn's
``predict_proba`` of the same fitted model on a one-row matrix, and the whole model (with
its isolation forest, ``ModelScorer.score_one``) against its scikit-learn twin.
scikit-learn runs on one thread, as on a one-vCPU Lambda function.
"""

from __future__ import annotations

import copy
import gc
import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from bench.alike import alike_model
from bench.records import Figure, Floor, command_line, figure, median_p99
from bench.service import DEFAULT_MODEL, prime, quiet_service, scoring_service, simulated_payloads
from bench.sklearn_twin import load_estimator, sklearn_twin
from chalicelib.model.artifact import LoadedModel, load_directory
from chalicelib.scoring import ScoringService
from chalicelib.settings import DEFAULT_CURRENCY
from chalicelib.state.memory import MemoryStore
from chalicelib.transaction import parse_transaction
from fraudctl.training.fitting import ESTIMATOR_FILE

PATH_FLOOR_MS = Floor(1.0)
MODEL_SPEEDUP_FLOOR = Floor(1 / 20, on="ratio")  # compiled at least 20 times faster
HISTORY_DAYS = 28
WHOLE_MODEL_SHARE = 4
"""The whole model (its isolation forest in scikit-learn is slow) is timed on a quarter."""


BLOCK = 50
"""Services (or calls) alternate by blocks of this many timings: each keeps its caches
warm within a block, and drifts of a noisy machine reach both alike."""


def _blocks(count: int) -> list[range]:
    return [range(start, min(start + BLOCK, count)) for start in range(0, count, BLOCK)]


def _settled() -> None:
    """Collect, then keep the benchmark's own objects (primed stores, estimators, twins)
    out of the cyclic collector's passes: a function's process holds none of them."""
    gc.collect()
    gc.freeze()


def path_timings(
    services: Sequence[ScoringService], payloads: Sequence[dict[str, Any]]
) -> list[np.ndarray]:
    """Seconds per payload through each service (validation to commit), alternating by
    blocks of ``BLOCK`` payloads."""
    seconds = np.empty((len(services), len(payloads)))
    clock = time.perf_counter
    _settled()
    for block in _blocks(len(payloads)):
        for which, service in enumerate(services):
            for index in block:
                start = clock()
                service.score(parse_transaction(payloads[index], default_currency=DEFAULT_CURRENCY))
                seconds[which, index] = clock() - start
    return list(seconds)


def call_timings(calls: Sequence[Callable[[], Any]], repeats: int) -> list[np.ndarray]:
    """Seconds per call of each of ``calls``, alternating by blocks of ``BLOCK`` calls,
    after one warm-up call each."""
    for call in calls:
        call()
    seconds = np.empty((len(calls), repeats))
    clock = time.perf_counter
    _settled()
    for block in _blocks(repeats):
        for which, call in enumerate(calls):
            for index in block:
                start = clock()
                call()
                seconds[which, index] = clock() - start
    return list(seconds)


def model_figures(
    compiled: LoadedModel, twin: LoadedModel, rows: np.ndarray, repeats: int
) -> list[Figure]:
    """The model alone on one row: classifier, then classifier + anomaly model."""
    classifier, reference = compiled.scorer.classifier, twin.scorer.classifier
    figures = []
    if classifier is not None and reference is not None:
        inputs = compiled.scorer.score(rows).inputs
        as_floats = itertools.cycle(inputs.tolist())
        as_matrix = itertools.cycle([inputs[i : i + 1] for i in range(len(inputs))])
        mine, theirs = call_timings(
            [
                lambda: classifier.predict_proba_one(next(as_floats)),
                lambda: reference.predict_proba(next(as_matrix)),
            ],
            repeats,
        )
        figures.append(
            figure(
                "model_predict_proba_one_row_median",
                np.median(mine) * 1e6,
                "us",
                np.median(theirs) * 1e6,
                MODEL_SPEEDUP_FLOOR,
            )
        )
    row = rows[0].tolist()
    mine, theirs = call_timings(
        [lambda: compiled.scorer.score_one(row), lambda: twin.scorer.score_one(row)],
        max(repeats // WHOLE_MODEL_SHARE, 20),
    )
    figures.append(
        figure("model_whole_one_row_median", np.median(mine) * 1e6, "us", np.median(theirs) * 1e6)
    )
    return figures


def measure(calls: int = 1000, customers: int = 100) -> list[Figure]:
    """Item 1's figures; ``calls`` timed transactions per service."""
    days = HISTORY_DAYS + 2
    payloads = simulated_payloads(customers, days, seed=3)
    history, timed = payloads[:-calls], payloads[-calls:]
    default = load_directory(DEFAULT_MODEL)
    alike_dir = alike_model()
    alike = load_directory(alike_dir)
    twin = sklearn_twin(alike, load_estimator((alike_dir / ESTIMATOR_FILE).read_bytes()))
    store = MemoryStore()
    with threadpool_limits(limits=1), quiet_service():
        prime(scoring_service(default, store), history)
        services = [scoring_service(default, store), scoring_service(twin, copy.deepcopy(store))]
        mine, theirs = path_timings(services, timed)
        rows = alike.matrix(
            [service_features(services[0], p["transaction_id"]) for p in timed[:200]]
        )
        model = model_figures(alike, twin, rows, max(calls, 200))
    (median, p99), (base_median, base_p99) = median_p99(mine * 1e3), median_p99(theirs * 1e3)
    return [
        figure("path_one_transaction_median", median, "ms", base_median, PATH_FLOOR_MS),
        figure("path_one_transaction_p99", p99, "ms", base_p99),
        *model,
    ]


def service_features(service: ScoringService, transaction_id: str) -> dict[str, float]:
    """The features the service stored with a transaction's decision."""
    return service.get(transaction_id)["features"]


def main() -> None:
    command_line(__doc__, measure, calls=1000, customers=100)


if __name__ == "__main__":
    main()
