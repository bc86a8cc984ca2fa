"""``fraudctl evaluate``: fit on each fold's training window, score its test window, report.

Features come from the offline engine (the online definitions) over the whole file, with
every label known, as in the Handbook: the terminal windows already lag by the label
delay. Each fold fits ``fit_model`` on its training rows in protocol order and scores its
test rows with the compiled model, the one the functions would serve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from chalicelib.transaction import LABEL_FIELD
from fraudctl.evaluation.metrics import TOP_K, assess, mean_metrics
from fraudctl.evaluation.protocol import (
    ProtocolError,
    Split,
    day_numbers,
    held_out_mask,
    protocol_order,
    training_mask,
)
from fraudctl.training.fitting import FittedModel, ModelSpec, fit_model

CP_NAME = f"card_precision@{TOP_K}"
METRIC_NAMES = ("auc", "average_precision", CP_NAME)

# The Handbook's published figures on the chapter-3 split (AUC, AP, CP@100).
PUBLISHED_CHAPTER_3: dict[str, tuple[float, float, float]] = {
    "logistic regression": (0.871, 0.606, 0.291),
    "decision tree, depth 2": (0.763, 0.496, 0.241),
    "random forest (scikit-learn defaults)": (0.867, 0.658, 0.287),
    "XGBoost": (0.862, 0.639, 0.273),
}
# Chapter 5, four weekly folds, hyper-parameters tuned (NaN: not published).
PUBLISHED_CHAPTER_5: dict[str, tuple[float, float, float]] = {
    "random forest, tuned": (math.nan, 0.678, math.nan),
    "XGBoost, tuned": (math.nan, 0.687, 0.303),
}


@dataclass(frozen=True)
class FoldResult:
    """One fold: its split, the sizes of its sets, the metrics of its test set, and the
    fitted model with the test rows (frame indices in protocol order)."""

    split: Split
    train_rows: int
    train_frauds: int
    test_rows: int
    test_frauds: int
    metrics: dict[str, float]
    fitted: FittedModel = field(repr=False, compare=False)
    test_index: np.ndarray = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "train_from": self.split.train_from.isoformat(),
            "train_to": self.split.train_to.isoformat(),
            "test_from": self.split.test_from.isoformat(),
            "test_to": self.split.test_to.isoformat(),
            "train_rows": self.train_rows,
            "train_frauds": self.train_frauds,
            "test_rows": self.test_rows,
            "test_frauds": self.test_frauds,
            **self.metrics,
        }


def evaluate_split(
    frame: pd.DataFrame, features: pd.DataFrame, spec: ModelSpec, split: Split
) -> FoldResult:
    """Fit on ``split``'s training rows and assess on its test rows.

    ``features`` is aligned with ``frame`` and holds ``spec.features``.

    Raises
    ------
    ProtocolError
        A window holds no rows.
    """
    if LABEL_FIELD not in frame:
        raise ProtocolError(f"the evaluation needs an {LABEL_FIELD} column")
    train = protocol_order(frame, training_mask(frame, split))
    test = protocol_order(frame, held_out_mask(frame, split))
    if not len(train) or not len(test):
        raise ProtocolError(f"no rows for {split.describe()}")
    matrix = features[list(spec.features)].to_numpy(np.float64)
    labels = frame[LABEL_FIELD].to_numpy()
    fitted = fit_model(spec, matrix[train], labels[train])
    scores = fitted.scores(matrix[test])
    return FoldResult(
        split,
        len(train),
        int(labels[train].sum()),
        len(test),
        int(labels[test].sum()),
        assess(frame.iloc[test], scores, day_numbers(frame)[test]),
        fitted,
        test,
    )


def evaluate_folds(
    frame: pd.DataFrame, features: pd.DataFrame, spec: ModelSpec, splits: Sequence[Split]
) -> list[FoldResult]:
    """``evaluate_split`` for every split, in order."""
    return [evaluate_split(frame, features, spec, split) for split in splits]


def _figures(values: Sequence[float]) -> str:
    return " | ".join("-" if math.isnan(v) else f"{v:.3f}" for v in values)


def report(results: Sequence[FoldResult], label: str) -> str:
    """Markdown tables: fold 0 beside the Handbook's chapter-3 figures, then every fold, their
    mean, and the Handbook's chapter-5 fold figures."""
    first = results[0]
    lines = [
        f"Split: {first.split.describe()}; {first.train_rows:,} training rows "
        f"({first.train_frauds:,} frauds), {first.test_rows:,} test rows ({first.test_frauds:,} "
        "frauds) once known-compromised customers are removed.",
        "",
        "| model | AUC | AP | CP@100 |",
        "|---|---|---|---|",
        f"| **{label}** | {_figures([first.metrics[m] for m in METRIC_NAMES])} |",
        *(f"| {name} (Handbook) | {_figures(v)} |" for name, v in PUBLISHED_CHAPTER_3.items()),
    ]
    if len(results) > 1:
        mean = mean_metrics([r.metrics for r in results])
        lines += [
            "",
            f"{len(results)} weekly folds (fold k: the split shifted k weeks earlier, as in the "
            "Handbook's chapter 5):",
            "",
            "| fold | train | test | test rows | frauds | AUC | AP | CP@100 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for index, result in enumerate(results):
            split = result.split
            lines.append(
                f"| {index} | {split.train_from} | {split.test_from} | {result.test_rows:,} | "
                f"{result.test_frauds:,} | {_figures([result.metrics[m] for m in METRIC_NAMES])} |"
            )
        lines.append(f"| **mean** | | | | | {_figures([mean[m] for m in METRIC_NAMES])} |")
        lines += [
            f"| {name} (Handbook, 4 folds) | | | | | {_figures(v)} |"
            for name, v in PUBLISHED_CHAPTER_5.items()
        ]
    return "\n".join(lines)
