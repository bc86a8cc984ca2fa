"""Training: a transactions file in, a verified artifact directory out.

Features are computed over the whole file's history with the offline engine (the same
definitions the functions serve). The model (``ModelSpec``: kind, features,
hyper-parameters) is fitted on rows dated in ``[train_from, train_to)`` and compiled to
numpy. Then, as in the Handbook's protocol, come ``delay_days`` during which the latest
training labels would still be unknown, a *validation* slice of ``validation_days`` on which
the decision thresholds are chosen (``ThresholdPolicy``), and a *test* slice of
``test_days`` that only reports. Metrics on both slices use the Handbook's protocol
(known-compromised customers removed); the shares and precision at the thresholds use
every transaction. The shipped model is the validated one: it is not refitted.

A file that ends before the validation days (trained up to its last day) still trains: the
thresholds then come from a second model fitted on the window's start, up to the label delay
before its last ``validation_days``, and validated on those days; the manifest says so
(``threshold_choice.validated``).
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn

from chalicelib.model.artifact import (
    MANIFEST,
    Thresholds,
    build_artifact,
    serialise_model,
    sha256_hex,
    write_directory,
)
from chalicelib.reports.drift import REFERENCE_BINS, reference
from chalicelib.transaction import LABEL_FIELD
from fraudctl.data import read_transactions
from fraudctl.evaluation.metrics import assess, json_safe
from fraudctl.evaluation.protocol import assessment_mask, day_numbers, protocol_order, window_mask
from fraudctl.training.errors import TrainingError
from fraudctl.training.featuresets import describe_features, features_for
from fraudctl.training.fitting import ESTIMATOR_FILE, FittedModel, ModelSpec, fit_model
from fraudctl.training.thresholds import ThresholdPolicy, choose_thresholds, outcome_figures


@dataclass(frozen=True)
class TrainingConfig:
    """What to train, on which days, and how to set its thresholds.

    Attributes
    ----------
    train_from, train_to:
        ISO dates; rows dated in ``[train_from, train_to)`` are fitted.
    spec:
        The model (kind, features, hyper-parameters, anomaly model).
    policy:
        How the review and block thresholds are chosen.
    delay_days, validation_days, test_days:
        The label delay after training, then the validation and test slices (days).
    save_estimator:
        Also write the fitted scikit-learn objects (``estimator.joblib``, offline use).
    """

    train_from: str
    train_to: str
    spec: ModelSpec = field(default_factory=ModelSpec)
    policy: ThresholdPolicy = field(default_factory=ThresholdPolicy)
    delay_days: int = 7
    validation_days: int = 7
    test_days: int = 7
    save_estimator: bool = False

    def windows(self) -> dict[str, tuple[date, date]]:
        """``train``, ``validation`` and (unless empty) ``test`` as ``[from, to)`` days."""
        start, end = date.fromisoformat(self.train_from), date.fromisoformat(self.train_to)
        if end <= start or self.validation_days < 1 or self.test_days < 0 or self.delay_days < 0:
            raise TrainingError("need train_from < train_to, validation days >= 1, others >= 0")
        validation = end + timedelta(days=self.delay_days)
        test = validation + timedelta(days=self.validation_days)
        windows = {"train": (start, end), "validation": (validation, test)}
        if self.test_days:
            windows["test"] = (test, test + timedelta(days=self.test_days))
        return windows


def file_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
        "pandas": pd.__version__,
    }


MAX_REFERENCE_FEATURES = 20


def training_reference(
    names: tuple[str, ...], train_matrix: np.ndarray, validation_scores: np.ndarray
) -> dict[str, Any]:
    """What the daily report measures drift against (``chalicelib.reports.drift``): the
    quantile bins and proportions of the model's features (the first
    ``MAX_REFERENCE_FEATURES``) on the training rows and of its score on the validation
    rows. About 2 KB per feature in the manifest."""
    return {
        "bins": REFERENCE_BINS,
        "rows": len(train_matrix),
        "score_rows": len(validation_scores),
        "features": {
            name: reference(train_matrix[:, i])
            for i, name in enumerate(names[:MAX_REFERENCE_FEATURES])
        },
        "score": reference(validation_scores),
    }


@dataclass(frozen=True)
class _Slice:
    """Rows of one window, in protocol order, with what scoring them needs."""

    name: str
    start: date
    end: date
    rows: np.ndarray


def _slice_report(
    frame: pd.DataFrame,
    config: TrainingConfig,
    part: _Slice,
    fitted: FittedModel,
    matrix: np.ndarray,
    thresholds: Thresholds,
) -> dict[str, Any]:
    """Rows, Handbook metrics (known-compromised removed) and outcomes at the thresholds."""
    labels = frame[LABEL_FIELD].to_numpy() if LABEL_FIELD in frame else None
    scores = fitted.scores(matrix[part.rows])
    amounts = frame["amount"].to_numpy()[part.rows]
    report: dict[str, Any] = {
        "from": part.start.isoformat(),
        "to": part.end.isoformat(),
        "rows": len(part.rows),
        **outcome_figures(
            thresholds, scores, None if labels is None else labels[part.rows], amounts
        ),
    }
    if labels is None:
        return report
    start = date.fromisoformat(config.train_from)
    assessed = assessment_mask(frame, part.start, part.end, start, config.delay_days)[part.rows]
    report.update(
        frauds=int(labels[part.rows].sum()),
        assessed_rows=int(assessed.sum()),
        **assess(
            frame.iloc[part.rows[assessed]],
            scores[assessed],
            day_numbers(frame)[part.rows[assessed]],
        ),
    )
    return report


def _validate_inside(
    frame: pd.DataFrame,
    config: TrainingConfig,
    matrix: np.ndarray,
    labels: np.ndarray | None,
    slices: dict[str, _Slice],
) -> tuple[FittedModel, dict[str, _Slice], str]:
    """When the file ends before the validation days: validate on the last
    ``validation_days`` of the training window, with a model fitted on the days before them
    and the label delay. Returns that model, the slices and what was done.

    Raises
    ------
    TrainingError
        The training window is too short for that (or a slice is empty).
    """
    start, end = slices["train"].start, slices["train"].end
    cut = end - timedelta(days=config.validation_days)
    probe_end = cut - timedelta(days=config.delay_days)
    probe_rows = protocol_order(frame, window_mask(frame, start, probe_end))
    rows = protocol_order(frame, window_mask(frame, cut, end))
    if probe_end <= start or not len(probe_rows) or not len(rows):
        raise TrainingError(
            f"no rows after the training window for validation, and [{start}, {end}) is too "
            f"short to hold {config.delay_days} days of delay and {config.validation_days} "
            "validation days after some training days"
        )
    probe = fit_model(
        config.spec, matrix[probe_rows], None if labels is None else labels[probe_rows]
    )
    note = (
        f"the file ends before {slices['validation'].start}: a model fitted on "
        f"[{start}, {probe_end}), validated on the last {config.validation_days} training days"
    )
    return (
        probe,
        {"train": slices["train"], "validation": _Slice("validation", cut, end, rows)},
        note,
    )


def train(
    frame: pd.DataFrame, config: TrainingConfig, manifest_fields: dict[str, Any]
) -> dict[str, bytes]:
    """Fit, compile, choose thresholds and package a model; returns the artifact files.

    ``frame`` is in replay order (``read_transactions``); a classifier needs ``is_fraud``.
    ``manifest_fields`` may carry ``created_at`` and ``data``; the version is derived from
    the creation time, the model kind and the model file's SHA-256.

    Raises
    ------
    TrainingError
        No labels for a classifier, no rows in a window, a single class.
    """
    spec = config.spec
    if spec.needs_labels and LABEL_FIELD not in frame:
        raise TrainingError(f"training data needs an {LABEL_FIELD} column")
    features = features_for(frame, spec.features)
    matrix = features[list(spec.features)].to_numpy(np.float64)
    labels = frame[LABEL_FIELD].to_numpy(np.int8) if LABEL_FIELD in frame else None
    slices = {
        name: _Slice(name, start, end, protocol_order(frame, window_mask(frame, start, end)))
        for name, (start, end) in config.windows().items()
    }
    train_rows = slices["train"].rows
    if not len(train_rows):
        raise TrainingError(f"no rows dated in [{config.train_from}, {config.train_to})")
    fitted = fit_model(spec, matrix[train_rows], None if labels is None else labels[train_rows])
    validated, validated_on = fitted, "the shipped model, on the days after the label delay"
    if not len(slices["validation"].rows):
        validated, slices, validated_on = _validate_inside(frame, config, matrix, labels, slices)
    validation = slices["validation"].rows
    thresholds, choice = choose_thresholds(
        config.policy,
        validated.scores(matrix[validation]),
        None if labels is None else labels[validation],
        frame["amount"].to_numpy()[validation],
    )
    choice["validated"] = validated_on
    scorer = fitted.scorer
    model_bytes = serialise_model(scorer.classifier, scorer.anomaly, thresholds, fitted.usual)
    created = manifest_fields.get("created_at", datetime.now(UTC).isoformat())
    stamp = datetime.fromisoformat(created).strftime("%Y%m%dT%H%M%SZ")
    extra = {ESTIMATOR_FILE: fitted.estimator_bytes()} if config.save_estimator else {}
    start, end = slices["train"].start, slices["train"].end
    return build_artifact(
        model_bytes,
        {
            **manifest_fields,
            "version": f"{stamp}-{spec.kind}-{sha256_hex(model_bytes)[:8]}",
            "created_at": created,
            "kind": spec.kind,
            "model": spec.to_dict(),
            "compiled": {
                "classifier": scorer.classifier.kind if scorer.classifier else None,
                "anomaly": scorer.anomaly.kind if scorer.anomaly else None,
                "inputs": list(scorer.input_names),
            },
            "feature_names": list(scorer.source_features),
            "features": describe_features(
                tuple(dict.fromkeys([*scorer.source_features, *scorer.input_names]))
            ),
            "training": {
                "from": start.isoformat(),
                "to": end.isoformat(),
                "rows": len(train_rows),
                "frauds": None if labels is None else int(labels[train_rows].sum()),
                "label_delay_days": config.delay_days,
                "order": "event time, then transaction id",
            },
            "thresholds": thresholds.to_dict(),
            "threshold_choice": json_safe(choice),
            "reference": training_reference(
                spec.features, matrix[train_rows], fitted.scores(matrix[validation])
            ),
            "metrics": json_safe(
                {
                    name: _slice_report(frame, config, part, validated, matrix, thresholds)
                    for name, part in slices.items()
                    if name != "train" and len(part.rows)
                }
            ),
            "libraries": library_versions(),
        },
        extra,
    )


def train_file(data: Path, config: TrainingConfig, out: Path) -> dict[str, Any]:
    """Train from a file and write the artifact into ``out``; returns the manifest."""
    fingerprint = file_fingerprint(data)
    frame = read_transactions(data)
    files = train(
        frame,
        config,
        {
            "created_at": datetime.now(UTC).isoformat(),
            "data": {"file": data.name, "sha256": fingerprint, "rows": len(frame)},
        },
    )
    write_directory(out, files)
    return json.loads(files[MANIFEST])
