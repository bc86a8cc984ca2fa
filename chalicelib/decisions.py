"""From a model score and rule outcomes to one decision with its reasons.

Precedence (first match wins):

1. an ``allow`` rule (or an allow list entry expressed as one) -> ``allow``;
2. a ``block`` or ``suspend`` rule -> ``block``;
3. a ``review`` rule -> ``review``;
4. the model (``model_outcomes``): ``score >= block`` threshold -> ``block``;
   ``score >= review``, or with cost-based review an expected loss ``score x amount`` at or
   above ``review_cost`` -> ``review``; otherwise ``allow``.

Within an action, a higher ``priority`` ranks first. Shadow rules are recorded and
counted by the rule set but never reach ``decide``; ``alert`` rules never change the
decision, they only request an alert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, cast

import numpy as np
from numpy.typing import ArrayLike

from chalicelib.model.artifact import Thresholds
from chalicelib.state.store import ListPut

DecisionType = Literal["allow", "review", "block"]
RuleAction = Literal["allow", "block", "review", "alert", "suspend"]

ACTION_DECISION: dict[str, DecisionType] = {
    "allow": "allow",
    "block": "block",
    "suspend": "block",
    "review": "review",
}
ACTION_PRECEDENCE = ("allow", "block", "suspend", "review")


class Reason(NamedTuple):
    """Why a decision came out as it did, in words an analyst reads."""

    code: str
    message: str
    details: Mapping[str, Any] = MappingProxyType({})

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class RuleHit(NamedTuple):
    """A rule that fired for a transaction (a named tuple: one is made per fired rule on
    the scoring path, at a quarter of a frozen dataclass's cost).

    ``explanation`` is the expression with the values it saw (``amount (1250.00) > 1000``);
    ``details`` adds what the rule did beyond the decision (a suspension).
    """

    rule_id: str
    action: RuleAction
    priority: int
    explanation: str
    expression: str = ""
    details: Mapping[str, Any] = MappingProxyType({})

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "action": self.action,
            "expression": self.expression,
            "explanation": self.explanation,
            **self.details,
        }


class RuleOutcome(NamedTuple):
    """What the rules said about one transaction.

    ``hits`` are the active rules that fired (they decide); ``shadow`` the shadow rules
    that fired (recorded, never deciding); ``list_puts`` the list items to write with the
    decision, atomically (suspensions).
    """

    hits: tuple[RuleHit, ...] = ()
    shadow: tuple[RuleHit, ...] = ()
    list_puts: tuple[ListPut, ...] = ()


class Decision(NamedTuple):
    """The outcome returned to the caller and stored."""

    decision: DecisionType
    score: float
    risk_score: int
    reasons: tuple[Reason, ...]
    alert: bool

    @property
    def explained(self) -> bool:
        """Whether the model's feature reasons belong with this decision: they say what made
        a payment look like fraud, so a review or a block carries them, an allowed payment
        only its score's reason."""
        return self.decision != "allow"

    def with_feature_reasons(self, reasons: Sequence[Reason]) -> Decision:
        """This decision with the model's feature reasons after its own (callers add them
        only when ``explained``, and skip computing them otherwise)."""
        return self._replace(reasons=(*self.reasons, *reasons))


def risk_score(score: float) -> int:
    """The score on the 0..100 scale analysts use."""
    return max(0, min(100, round(score * 100)))


def model_outcomes(
    scores: ArrayLike, amounts: ArrayLike | None, thresholds: Thresholds
) -> np.ndarray:
    """The model's decision for each score (and amount), as an array of strings.

    >>> model_outcomes([0.05, 0.2, 0.95], [3000.0, 10.0, 1.0], Thresholds(0.5, 0.9, 100.0))
    array(['review', 'allow', 'block'], dtype='<U6')
    """
    scores = np.asarray(scores, dtype=np.float64)
    review = scores >= thresholds.review
    if thresholds.review_cost is not None and amounts is not None:
        review |= scores * np.asarray(amounts, dtype=np.float64) >= thresholds.review_cost
    return np.where(scores >= thresholds.block, "block", np.where(review, "review", "allow"))


def decide(
    score: float,
    thresholds: Thresholds,
    hits: Sequence[RuleHit],
    amount: float | None = None,
) -> Decision:
    """Combine rules and the model per the module's precedence.

    ``amount`` serves cost-based review. The reasons are the fired rules' and the model
    score's; ``Decision.with_feature_reasons`` adds the features behind a review or a block.
    """
    ranked = sorted(
        hits,
        key=lambda h: (
            ACTION_PRECEDENCE.index(h.action) if h.action in ACTION_PRECEDENCE else 99,
            -h.priority,
        ),
    )
    decisive = next((h for h in ranked if h.action in ACTION_DECISION), None)
    if decisive is not None:
        outcome = ACTION_DECISION[decisive.action]
    else:
        amounts = None if amount is None else [amount]
        outcome = cast(DecisionType, str(model_outcomes([score], amounts, thresholds)[0]))
    reasons = [_rule_reason(h) for h in ranked]
    reasons.append(_model_reason(score, amount, thresholds, outcome, decisive is not None))
    alert = outcome != "allow" or any(h.action == "alert" for h in hits)
    return Decision(outcome, score, risk_score(score), tuple(reasons), alert)


def _rule_reason(hit: RuleHit) -> Reason:
    details = hit.to_dict()
    return Reason("rule", f"rule {hit.rule_id} ({hit.action}): {hit.explanation}", details)


def _model_reason(
    score: float,
    amount: float | None,
    thresholds: Thresholds,
    outcome: DecisionType,
    overridden: bool,
) -> Reason:
    details: dict[str, Any] = {
        "score": round(score, 6),
        "review_threshold": thresholds.review,
        "block_threshold": thresholds.block,
    }
    loss = None
    if thresholds.review_cost is not None and amount is not None:
        loss = score * amount
        details.update(expected_loss=round(loss, 2), review_cost=thresholds.review_cost)
    if overridden:
        message = f"model score {score:.3f}; decision set by a rule"
    elif outcome == "block":
        message = (
            f"model score {score:.3f} is at or above the block threshold {thresholds.block:.3f}"
        )
    elif outcome == "review" and score >= thresholds.review:
        message = (
            f"model score {score:.3f} is at or above the review threshold {thresholds.review:.3f}"
        )
    elif outcome == "review":
        message = (
            f"expected loss {loss:.2f} (score {score:.3f} x amount {amount:.2f}) is at or "
            f"above the cost of a review, {thresholds.review_cost:.2f}"
        )
    else:
        message = f"model score {score:.3f} is below the review threshold {thresholds.review:.3f}"
        if loss is not None:
            message += f" and its expected loss {loss:.2f} below {thresholds.review_cost:.2f}"
    return Reason("model_score", message, details)
