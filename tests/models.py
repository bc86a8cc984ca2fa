"""Small models trained on simulated data, shared by the tests (each trained once per run).

The file: 300 simulated customers over 63 days from 2025-01-01. Models are fitted on
2025-01-29 .. 2025-02-11, thresholds chosen on 2025-02-19 .. 2025-02-25 (after 7 days of
label delay) and tested on 2025-02-26 .. 2025-03-04.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from fraudctl.simulate import SimulationConfig, simulate, write_csv
from fraudctl.training.estimators import parse_params
from fraudctl.training.fitting import ModelSpec
from fraudctl.training.pipeline import TrainingConfig, train_file
from fraudctl.training.thresholds import ThresholdPolicy

TRAIN_FROM, TRAIN_TO = "2025-01-29", "2025-02-12"
VALIDATION = ("2025-02-19", "2025-02-26")
TEST = ("2025-02-26", "2025-03-05")
SMALL_TREES = ("n_estimators=15", "max_depth=8")


@functools.cache
def workspace() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="fraud-models-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


@functools.cache
def simulated_file() -> Path:
    """A labelled transactions file (gzipped CSV)."""
    path = workspace() / "simulated.csv.gz"
    write_csv(simulate(SimulationConfig(customers=300, days=63, seed=11)), path)
    return path


def small_params(kind: str) -> tuple[str, ...]:
    """Hyper-parameters keeping each kind fast to fit."""
    if kind in ("forest", "extra_trees"):
        return SMALL_TREES
    if kind == "boosting":
        return ("max_iter=30",)
    if kind == "anomaly":
        return ("n_estimators=30",)
    return ()


@functools.cache
def trained(
    kind: str,
    anomaly: bool = False,
    anomaly_input: bool = False,
    review_cost: float | None = None,
) -> Path:
    """The artifact directory of a small model (with ``estimator.joblib``)."""
    name = f"{kind}-{int(anomaly)}{int(anomaly_input)}-{review_cost}"
    out = workspace() / name
    spec = ModelSpec(
        kind=kind,
        params=parse_params(small_params(kind)),
        anomaly=anomaly,
        anomaly_input=anomaly_input,
        anomaly_params=parse_params(small_params("anomaly")) if kind != "anomaly" else {},
    )
    policy = ThresholdPolicy(
        block_rule="rate" if kind == "anomaly" else "precision", review_cost=review_cost
    )
    config = TrainingConfig(TRAIN_FROM, TRAIN_TO, spec=spec, policy=policy, save_estimator=True)
    train_file(simulated_file(), config, out)
    return out
