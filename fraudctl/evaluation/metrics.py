"""The Handbook's metrics: ROC AUC, average precision and Card Precision@k.

Card Precision@k (the Handbook's ``card_precision_top_k``): for each test day in order,
drop the customers already *detected* on earlier test days, give every remaining customer
their highest score of the day (and their highest label), rank customers by that score,
and count the compromised ones among the first ``k``: those become detected. The metric
is the mean over test days of ``compromised in the top k / k``. Customers with equal
scores are ranked by id (integers when every id is one), which makes the figure
reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from fraudctl.evaluation.protocol import id_order_key

TOP_K = 100


def card_precision_at_k(
    days: np.ndarray, customers: pd.Series, labels: np.ndarray, scores: np.ndarray, k: int = TOP_K
) -> float:
    """Card Precision@k over the test days (see the module); ``nan`` without rows.

    Parameters
    ----------
    days:
        Each row's day (any sortable value).
    customers:
        Each row's customer id.
    labels, scores:
        Each row's label (0/1) and score.
    """
    frame = pd.DataFrame(
        {
            "day": np.asarray(days),
            "customer": customers.to_numpy(),
            "key": id_order_key(customers),
            "label": np.asarray(labels),
            "score": np.asarray(scores, dtype=np.float64),
        }
    )
    detected: set[object] = set()
    precisions = []
    for _, rows in frame.groupby("day", sort=True):
        rows = rows[~rows["customer"].isin(detected)]
        per_customer = rows.groupby("customer", sort=False).agg(
            score=("score", "max"), label=("label", "max"), key=("key", "first")
        )
        ranked = per_customer.sort_values(["score", "key"], ascending=[False, True], kind="stable")
        top = ranked.head(k)
        hits = top.index[top["label"] == 1]
        detected.update(hits)
        precisions.append(len(hits) / k)
    return float(np.mean(precisions)) if precisions else math.nan


def assess(
    frame: pd.DataFrame, scores: np.ndarray, days: np.ndarray, k: int = TOP_K
) -> dict[str, float]:
    """AUC, AP and CP@k of ``scores`` for the rows of ``frame`` (``is_fraud``, ``customer_id``).

    AUC and AP are ``nan`` when the rows hold a single class.
    """
    labels = frame["is_fraud"].to_numpy()
    return {
        **ranking_figures(labels, scores),
        f"card_precision@{k}": card_precision_at_k(days, frame["customer_id"], labels, scores, k),
    }


def decision_figures(decisions: np.ndarray, labels: np.ndarray | None) -> dict[str, float]:
    """Share of ``review`` and ``block`` decisions and, with labels, the precision and
    recall of flagged (review or block) and of blocked transactions."""
    review, block = decisions == "review", decisions == "block"
    figures = {"review_share": _ratio(review.sum(), len(decisions))}
    figures["block_share"] = _ratio(block.sum(), len(decisions))
    if labels is not None:
        fraud = np.asarray(labels) == 1
        flagged = review | block
        figures.update(
            flagged_precision=_ratio(fraud[flagged].sum(), flagged.sum()),
            flagged_recall=_ratio(flagged[fraud].sum(), fraud.sum()),
            block_precision=_ratio(fraud[block].sum(), block.sum()),
            block_recall=_ratio(block[fraud].sum(), fraud.sum()),
        )
    return figures


def ranking_figures(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """ROC AUC and average precision; ``nan`` when the labels hold a single class."""
    if len(np.unique(labels)) < 2:
        return {"auc": math.nan, "average_precision": math.nan}
    return {
        "auc": float(roc_auc_score(labels, scores)),
        "average_precision": float(average_precision_score(labels, scores)),
    }


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else math.nan


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by ``None`` (strict JSON).

    >>> json_safe({"auc": float("nan"), "folds": [0.5, float("inf")]})
    {'auc': None, 'folds': [0.5, None]}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def mean_metrics(results: list[Mapping[str, float]]) -> dict[str, float]:
    """The mean of each metric over several assessments (folds)."""
    return {name: float(np.mean([r[name] for r in results])) for name in results[0]}
