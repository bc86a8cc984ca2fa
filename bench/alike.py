"""A model like the default one, with its scikit-learn estimator kept: the baselines' model.

The default artifact (``model_artifacts/default``) ships only the compiled model. The
baselines need the fitted scikit-learn estimator of the same model, so this trains one
with the default's specification (kind, features, hyper-parameters, anomaly model, seed:
the manifest's ``model``) on the simulator's data, as ``fraudctl train --save-estimator``
does, whatever kind the default is. Fitted on a smaller file than the default, it is at
most as large (trees grow with the data), so a baseline that serves it is never
handicapped against the default. Cached in ``bench/out/`` by specification.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import sklearn

from bench.service import DEFAULT_MODEL, OUT
from chalicelib.model.artifact import MANIFEST
from fraudctl.simulate import SimulationConfig, simulate, write_csv
from fraudctl.training.estimators import ANOMALY_KIND
from fraudctl.training.fitting import ESTIMATOR_FILE, ModelSpec
from fraudctl.training.pipeline import TrainingConfig, train_file
from fraudctl.training.thresholds import ThresholdPolicy

# 300 simulated customers over 63 days from 2025-01-01; fitted on two weeks of them.
SIMULATION = SimulationConfig(customers=300, days=63, seed=11)
TRAIN_FROM, TRAIN_TO = "2025-01-29", "2025-02-12"


def default_spec(model_dir: Path = DEFAULT_MODEL) -> ModelSpec:
    """The specification the artifact in ``model_dir`` was trained with."""
    model: dict[str, Any] = json.loads((model_dir / MANIFEST).read_text())["model"]
    return ModelSpec(
        kind=model["kind"],
        features=tuple(model["features"]),
        params=model["params"],
        class_weight=model["class_weight"],
        anomaly=model["anomaly"],
        anomaly_input=model["anomaly_input"],
        anomaly_params=model["anomaly_params"],
        seed=model["seed"],
    )


def train_alike(spec: ModelSpec, out: Path, simulation: SimulationConfig = SIMULATION) -> Path:
    """Train ``spec`` on simulated data into ``out`` (with ``estimator.joblib``); ``out``."""
    policy = ThresholdPolicy(block_rule="rate" if spec.kind == ANOMALY_KIND else "precision")
    config = TrainingConfig(TRAIN_FROM, TRAIN_TO, spec=spec, policy=policy, save_estimator=True)
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "simulated.csv.gz"
        write_csv(simulate(simulation), data)
        train_file(data, config, out)
    return out


def alike_model(model_dir: Path = DEFAULT_MODEL, cache: Path = OUT) -> Path:
    """The artifact directory of a model like ``model_dir``'s, trained once per spec."""
    spec = default_spec(model_dir)
    key = json.dumps([spec.to_dict(), repr(SIMULATION), sklearn.__version__], sort_keys=True)
    out = cache / f"alike-{spec.kind}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    if not (out / ESTIMATOR_FILE).is_file():
        train_alike(spec, out)
    return out
