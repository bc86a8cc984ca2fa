"""The challenger: a second model scored in shadow on every transaction, never deciding.

Its decision is the one it would have made as the champion: its own score and thresholds
(stage overrides apply to the champion only) with the same rule hits. A challenger that
cannot score a batch (a feature this deployment does not compute, a malformed row) is
logged and skipped: shadow scoring never fails a transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from chalicelib.decisions import RuleHit, decide
from chalicelib.errors import FraudServiceError
from chalicelib.model.artifact import LoadedModel
from chalicelib.model.compiled import FloatArray

logger = logging.getLogger(__name__)


class ShadowScores(NamedTuple):
    """The challenger's scores of a batch."""

    challenger: LoadedModel
    scores: FloatArray

    @classmethod
    def of(
        cls, challenger: LoadedModel, features: Sequence[Mapping[str, float]]
    ) -> ShadowScores | None:
        """Score the batch's features, or log why not and return ``None``."""
        try:
            return cls(challenger, challenger.score(features).scores)
        except (KeyError, FraudServiceError) as exc:
            logger.error(
                "challenger could not score",
                extra={"challenger_version": challenger.version, "error": repr(exc)},
            )
            return None

    def outcome(self, index: int, hits: Sequence[RuleHit], amount: float) -> dict[str, Any]:
        """``{"version", "score", "decision"}`` of transaction ``index`` of the batch."""
        score = float(self.scores[index])
        decision = decide(score, self.challenger.thresholds, hits, amount)
        return {
            "version": self.challenger.version,
            "score": round(score, 9),
            "decision": decision.decision,
        }


def log_comparison(record: Mapping[str, Any]) -> None:
    """One log line comparing the champion's and the challenger's outcome (ids only)."""
    challenger = record["challenger"]
    logger.info(
        "challenger scored",
        extra={
            "transaction_id": record["transaction_id"],
            "model_version": record["model_version"],
            "score": record["score"],
            "decision": record["decision"],
            "challenger_version": challenger["version"],
            "challenger_score": challenger["score"],
            "challenger_decision": challenger["decision"],
            "agree": challenger["decision"] == record["decision"],
        },
    )
