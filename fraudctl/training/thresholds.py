"""Decision thresholds chosen on validation data, and what they do there.

The validation slice is time-ordered and comes after the training window and the label
delay: the traffic the model would meet once deployed. Thresholds are chosen on all of
its transactions (the queue an analyst team faces is made of all of them).

Block threshold (``block_rule``):

- ``precision``: the lowest threshold at which the validation transactions scoring at or
  above it are fraud with at least ``block_precision`` (1.0 when no threshold reaches it,
  which blocks only a score of exactly 1);
- ``rate``: the lowest threshold blocking at most ``block_rate`` of the transactions.

Review (``review_rate``, the capacity): at most ``review_rate`` of the validation
transactions land in review, that is score in ``[review, block)``; the threshold is the
lowest that respects it.

Cost-based review (``review_cost``): a transaction is reviewed when its expected loss,
``score x amount``, reaches the cost of a review (same currency as the amounts). The
score is read as the probability of fraud; the review catches the fraud, so reviewing
pays when the expected loss exceeds its cost. If that would review more than the capacity,
the cost bar is raised to the capacity's (recorded as ``effective_review_cost``). The
artifact then carries ``review_cost`` and ``review = block``: only the cost rule reviews
(a stage may still add a score threshold with ``FRAUD_REVIEW_THRESHOLD``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from chalicelib.decisions import model_outcomes
from chalicelib.model.artifact import Thresholds
from fraudctl.evaluation.metrics import decision_figures
from fraudctl.training.errors import TrainingError

BlockRule = Literal["precision", "rate"]
BLOCK_RULES = ("precision", "rate")


class ThresholdPolicyError(ValueError):
    """A threshold setting is out of range or needs labels that are not there."""


@dataclass(frozen=True)
class ThresholdPolicy:
    """How thresholds are chosen (see the module).

    Attributes
    ----------
    review_rate:
        Review capacity: the largest share of transactions sent to review.
    block_rule:
        ``precision`` (needs labels) or ``rate``.
    block_precision, block_rate:
        Targets of the two block rules.
    review_cost:
        Cost of one review in currency units; set for cost-based review.
    """

    review_rate: float = 0.01
    block_rule: BlockRule = "precision"
    block_precision: float = 0.9
    block_rate: float = 0.001
    review_cost: float | None = None

    def __post_init__(self) -> None:
        if self.block_rule not in BLOCK_RULES:
            raise ThresholdPolicyError(f"block rule is one of {BLOCK_RULES}")
        for name in ("review_rate", "block_rate", "block_precision"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ThresholdPolicyError(f"{name} must be in (0, 1]")
        if self.review_cost is not None and not self.review_cost > 0:
            raise ThresholdPolicyError("review_cost must be positive")

    def to_dict(self) -> dict[str, Any]:
        return {
            "review_rate": self.review_rate,
            "block_rule": self.block_rule,
            "block_precision": self.block_precision,
            "block_rate": self.block_rate,
            "review_cost": self.review_cost,
        }


def capacity_threshold(values: np.ndarray, allowed: int) -> float:
    """The lowest observed value ``t`` with at most ``allowed`` values ``>= t``; ``inf``
    when not even the largest value fits.

    >>> capacity_threshold(np.array([0.1, 0.5, 0.5, 0.9]), 2)
    0.9
    >>> capacity_threshold(np.array([0.1, 0.5, 0.5, 0.9]), 3)
    0.5
    """
    ordered = np.sort(values)[::-1]
    if allowed >= len(ordered):
        return float(ordered[-1]) if len(ordered) else math.inf
    above = ordered[ordered > ordered[allowed]]
    return float(above[-1]) if len(above) else math.inf


def precision_threshold(scores: np.ndarray, labels: np.ndarray, target: float) -> float | None:
    """The lowest score ``t`` whose rows with ``score >= t`` have precision ``>= target``.

    >>> precision_threshold(np.array([0.2, 0.4, 0.6, 0.8]), np.array([0, 1, 0, 1]), 0.6)
    0.4
    """
    order = np.argsort(-scores, kind="stable")
    ordered, hits = scores[order], np.cumsum(labels[order])
    last_of_tie = np.r_[ordered[1:] != ordered[:-1], True]
    flagged = np.arange(1, len(ordered) + 1)
    reached = last_of_tie & (hits >= target * flagged)
    return float(ordered[reached][-1]) if reached.any() else None


def choose_thresholds(
    policy: ThresholdPolicy,
    scores: np.ndarray,
    labels: np.ndarray | None,
    amounts: np.ndarray,
) -> tuple[Thresholds, dict[str, Any]]:
    """Thresholds for ``policy`` on validation ``scores`` and how they were chosen.

    Raises
    ------
    ThresholdPolicyError
        The precision rule without labels.
    TrainingError
        No validation rows, or a capacity that admits no review on them.
    """
    if not len(scores):
        raise TrainingError("no validation rows to choose thresholds on")
    allowed = _count(policy.review_rate, len(scores))
    choice: dict[str, Any] = {"policy": policy.to_dict(), "validation_rows": len(scores)}
    if policy.block_rule == "precision":
        if labels is None:
            raise ThresholdPolicyError("the precision block rule needs labels; use the rate rule")
        found = precision_threshold(scores, labels, policy.block_precision)
        block = 1.0 if found is None else found
        choice["block_target_reached"] = found is not None
        choice["block"] = (
            f"lowest score whose validation transactions at or above it are fraud with "
            f"precision >= {policy.block_precision}"
            + ("" if found is not None else "; not reached, so 1.0")
        )
    else:
        block = min(1.0, capacity_threshold(scores, _count(policy.block_rate, len(scores))))
        choice["block"] = f"lowest score blocking at most {policy.block_rate:.2%} of validation"
    open_rows = scores < block
    if policy.review_cost is None:
        review = min(block, capacity_threshold(scores[open_rows], allowed))
        thresholds = Thresholds(review, block)
        choice["review"] = (
            f"lowest score sending at most {policy.review_rate:.2%} of validation to review"
        )
    else:
        losses = (scores * amounts)[open_rows]
        bar = max(policy.review_cost, capacity_threshold(losses, allowed))
        if math.isinf(bar):
            raise TrainingError(f"a review rate of {policy.review_rate} admits no review")
        thresholds = Thresholds(block, block, bar)
        choice["effective_review_cost"] = bar
        choice["review"] = (
            f"review when score x amount >= {bar:.2f} (the cost of a review, "
            f"{policy.review_cost:.2f}, raised to respect a {policy.review_rate:.2%} capacity "
            "if needed)"
        )
    return thresholds, choice


def outcome_figures(
    thresholds: Thresholds, scores: np.ndarray, labels: np.ndarray | None, amounts: np.ndarray
) -> dict[str, float]:
    """What the thresholds decide on rows: shares of review and block, and with labels
    their precision and recall (``metrics.decision_figures``)."""
    return decision_figures(model_outcomes(scores, amounts, thresholds), labels)


def _count(rate: float, rows: int) -> int:
    """How many of ``rows`` a ``rate`` allows (rounded down, immune to float noise)."""
    return math.floor(rate * rows + 1e-9)
