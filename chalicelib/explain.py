"""Reasons in words: the features that pushed a score up, phrased for a fraud analyst.

Contributions come from the compiled model that decides (path contributions for trees,
coefficient times standardised value for logistic regression, path lengths for the
isolation forest); the phrasing comes from each feature's definition, so a new window or
entity reads naturally without a new template. Each reason says:

- what the value is (``describe``): "amount 520.00 EUR is 5.2 times the customer's 30-day
  average (100.00)", "1 transaction by the customer in the last 24 hours";
- when a *low* value raised the score, the typical value (the feature's median over the
  training rows): "0 transactions by the terminal in the 30 days ending 7 days ago
  (typically 37)";
- what it did to the score, in the model's own terms: a forest adds to the probability,
  logistic regression and gradient boosting multiply the odds, the isolation forest
  multiplies the anomaly score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from chalicelib.decisions import Reason
from chalicelib.features.spec import FeatureDef
from chalicelib.model.artifact import LoadedModel
from chalicelib.model.compiled import LOG2_ANOMALY, LOG_ODDS, PROBABILITY
from chalicelib.model.scorer import ANOMALY_FEATURE

TOP_REASONS = 3
MAX_FACTOR = 1_000
BOOLEAN_STATISTICS = frozenset({"is_night", "is_weekend"})


def _plural(count: float, noun: str) -> str:
    """``1 transaction``, ``3 transactions``, ``0 transactions``."""
    return f"{count:.0f} {noun}{'' if count == 1 else 's'}"


def _period(days: int, lag_days: int) -> str:
    """``the last 24 hours``, ``the last 7 days``, ``the 24 hours ending 7 days ago``."""
    span = "24 hours" if days == 1 else f"{days} days"
    if lag_days:
        return f"the {span} ending {_plural(lag_days, 'day')} ago"
    return f"the last {span}"


def _money(value: float, currency: str) -> str:
    return f"{value:.2f}{' ' + currency if currency else ''}"


def format_value(definition: FeatureDef, value: float, currency: str = "") -> str:
    """A feature value as an analyst reads it: a count, an amount, a share, a number."""
    if definition.statistic == "count":
        return f"{value:.0f}"
    if definition.statistic in ("amount", "mean_amount"):
        return _money(value, currency)
    if definition.statistic == "fraud_rate":
        return f"{value:.0%}"
    return f"{value:.4g}"


def describe(definition: FeatureDef, values: Mapping[str, float], currency: str = "") -> str:
    """One feature's value as a sentence fragment (``values`` holds every feature)."""
    value = values[definition.name]
    window = definition.window
    if window is None:
        if definition.statistic == "amount":
            usual = values.get("customer_avg_amount_30d")
            text = f"amount {_money(value, currency)}"
            if values.get("customer_nb_tx_30d") == 1:
                return text + ", the customer's first transaction in 30 days"
            if usual:
                text += f" is {value / usual:.1f} times the customer's 30-day average ({usual:.2f})"
            return text
        if definition.statistic == "is_night":
            return "made at night (00:00-06:59 UTC)" if value else "made during the day"
        if definition.statistic == "is_weekend":
            return "made on a weekend" if value else "made on a weekday"
        if definition.statistic == ANOMALY_FEATURE:
            return f"anomaly score {value:.2f} (how unlike the training transactions it is)"
        return f"{definition.name} is {value:.4g}"
    period = _period(window.days, window.lag_days)
    who = f"the {window.entity}"
    if definition.statistic == "count":
        return f"{_plural(value, 'transaction')} by {who} in {period}"
    if definition.statistic == "mean_amount":
        return f"{who}'s average amount over {period} is {_money(value, currency)}"
    if definition.statistic == "fraud_rate":
        return f"{value:.0%} of {who}'s transactions in {period} were fraud"
    return f"{definition.name} is {value:.4g}"


def compared_with_usual(
    definition: FeatureDef, value: float, usual: float | None, currency: str = ""
) -> str:
    """`` (typically 41)`` when a *low* value raised the score: an analyst sees at once
    that the risk comes from what is missing. Empty for yes/no features, unknown typical
    values and values not below them."""
    if usual is None or definition.statistic in BOOLEAN_STATISTICS or not value < usual:
        return ""
    typical = format_value(definition, usual, currency)
    return "" if format_value(definition, value, currency) == typical else f" (typically {typical})"


def _factor(factor: float) -> str:
    """``1.06``, ``3.5``, ``120``, ``more than 1,000``."""
    if factor >= MAX_FACTOR:
        return f"more than {MAX_FACTOR:,}"
    if factor >= 100:
        return f"{factor:.0f}"
    return f"{factor:.2f}" if factor < 1.1 else f"{factor:.1f}"


def effect(contribution: float, space: str) -> str:
    """What a contribution did to the score, in the additive space of the model.

    >>> effect(0.12, "probability")
    'adds 0.12 to the score'
    >>> effect(1.2, "log_odds")
    'multiplies the odds of fraud by 3.3'
    """
    if space == PROBABILITY:
        return f"adds {contribution:.2f} to the score"
    if space == LOG_ODDS:
        return f"multiplies the odds of fraud by {_factor(math.exp(contribution))}"
    if space == LOG2_ANOMALY:
        return f"multiplies the anomaly score by {_factor(2.0**contribution)}"
    return f"contributes {contribution:.3g}"


def feature_reasons(
    model: LoadedModel,
    inputs: np.ndarray,
    values: Mapping[str, float],
    definitions: Sequence[FeatureDef],
    currency: str = "",
    top: int = TOP_REASONS,
) -> list[Reason]:
    """The ``top`` features that raised the score most, as reasons (largest first).

    ``inputs`` is the transaction's row of ``Scored.inputs``; ``values`` every feature.
    """
    explanation = model.scorer.explain(inputs)
    by_name = {d.name: d for d in definitions}
    contributions = explanation.contributions
    reasons = []
    for index in np.argsort(-contributions, kind="stable")[:top]:
        contribution = float(contributions[index])
        if contribution <= 0:
            break
        name = explanation.feature_names[index]
        definition = by_name.get(name, FeatureDef(name, name))
        value = float(inputs[index])
        message = describe(definition, {**values, name: value}, currency)
        message += compared_with_usual(definition, value, model.feature_usual.get(name), currency)
        reasons.append(
            Reason(
                "feature",
                f"{message}; {effect(contribution, explanation.space)}",
                {
                    "feature": name,
                    "value": round(value, 6),
                    "contribution": round(contribution, 6),
                    "contribution_space": explanation.space,
                },
            )
        )
    return reasons
