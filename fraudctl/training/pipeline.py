"""Training: a transactions file in, a verified artifact directory out.

Features are computed over the whole file's history with the offline engine (the same
definitions the functions serve), the estimator is fitted on rows dated in
``[train_from, train_to)``, compiled to numpy, and given decision thresholds chosen on a
validation slice for a stated review capacity.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from chalicelib.features.spec import HANDBOOK_FEATURES
from chalicelib.model.artifact import MANIFEST, Thresholds, build_artifact, write_directory
from chalicelib.transaction import LABEL_FIELD
from fraudctl.data import read_transactions, select_days
from fraudctl.offline.features import compute_features
from fraudctl.training.compile import compile_estimator

DEFAULT_REVIEW_RATE = 0.01
DEFAULT_BLOCK_RATE = 0.002
VALIDATION_SHARE = 0.2


class TrainingError(ValueError):
    """Training cannot proceed (no labels, no rows in the window, a single class)."""


@dataclass(frozen=True)
class TrainingConfig:
    """What to train and how to set its thresholds.

    Attributes
    ----------
    train_from, train_to:
        ISO dates; rows dated in ``[train_from, train_to)`` are used.
    features:
        Model inputs, by name (default: the Handbook's 15).
    review_rate, block_rate:
        Share of validation transactions the thresholds send to review (capacity) and
        to block.
    """

    train_from: str
    train_to: str
    features: tuple[str, ...] = HANDBOOK_FEATURES
    review_rate: float = DEFAULT_REVIEW_RATE
    block_rate: float = DEFAULT_BLOCK_RATE


def file_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def make_estimator() -> Pipeline:
    """The estimator of the default model (standardised logistic regression)."""
    return Pipeline(
        [("scale", StandardScaler()), ("model", LogisticRegression(max_iter=2_000, C=1.0))]
    )


def capacity_thresholds(scores: np.ndarray, review_rate: float, block_rate: float) -> Thresholds:
    """Thresholds sending ``review_rate`` of ``scores`` to review and ``block_rate`` to block."""
    review = float(np.quantile(scores, 1.0 - review_rate))
    block = float(np.quantile(scores, 1.0 - block_rate))
    return Thresholds(review=review, block=max(block, review))


def _metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    if len(np.unique(labels)) < 2:
        return {}
    return {
        "auc": round(float(roc_auc_score(labels, scores)), 6),
        "average_precision": round(float(average_precision_score(labels, scores)), 6),
    }


def train(
    frame: pd.DataFrame, config: TrainingConfig, manifest_fields: dict[str, Any]
) -> dict[str, bytes]:
    """Fit, compile and package a model; returns the artifact files.

    ``frame`` is in replay order (``read_transactions``) and must carry ``is_fraud``.
    """
    if LABEL_FIELD not in frame:
        raise TrainingError(f"training data needs an {LABEL_FIELD} column")
    features = compute_features(frame)
    window = select_days(frame, config.train_from, config.train_to).to_numpy()
    if not window.any():
        raise TrainingError(f"no rows dated in [{config.train_from}, {config.train_to})")
    X = features.loc[window, list(config.features)].to_numpy(np.float64)
    y = frame.loc[window, LABEL_FIELD].to_numpy(np.int8)
    if len(np.unique(y)) < 2:
        raise TrainingError("the training window holds a single class")

    # Thresholds are set on the latest part of the window, with a model fitted before it.
    cut = int(len(y) * (1.0 - VALIDATION_SHARE))
    probe = make_estimator().fit(X[:cut], y[:cut])
    validation_scores = probe.predict_proba(X[cut:])[:, 1]
    thresholds = capacity_thresholds(validation_scores, config.review_rate, config.block_rate)

    estimator = make_estimator().fit(X, y)
    compiled = compile_estimator(estimator, config.features)
    return build_artifact(
        compiled,
        thresholds,
        {
            **manifest_fields,
            "training": {
                "from": config.train_from,
                "to": config.train_to,
                "rows": len(y),
                "frauds": int(y.sum()),
                "review_rate": config.review_rate,
                "block_rate": config.block_rate,
            },
            "metrics": {"validation": _metrics(y[cut:], validation_scores)},
            "libraries": library_versions(),
        },
    )


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
        "pandas": pd.__version__,
    }


def train_file(data: Path, config: TrainingConfig, out: Path) -> dict[str, Any]:
    """Train from a file and write the artifact into ``out``; returns the manifest."""
    fingerprint = file_fingerprint(data)
    created = datetime.now(UTC)
    version = f"{created:%Y%m%dT%H%M%SZ}-{fingerprint[:8]}"
    frame = read_transactions(data)
    files = train(
        frame,
        config,
        {
            "version": version,
            "created_at": created.isoformat(),
            "data": {"file": data.name, "sha256": fingerprint, "rows": len(frame)},
        },
    )
    write_directory(out, files)
    return json.loads(files[MANIFEST])
