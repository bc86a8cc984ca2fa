"""Reasons in words: the features that pushed a score up, phrased for a fraud analyst.

Contributions come from the compiled model (path contributions for trees, coefficient
times standardised value for linear models); the phrasing comes from each feature's
definition, so a new window or entity reads naturally without a new template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from chalicelib.decisions import Reason
from chalicelib.features.spec import FeatureDef
from chalicelib.model.artifact import LoadedModel

TOP_REASONS = 3


def _period(days: int, lag_days: int) -> str:
    span = "the last 24 hours" if days == 1 else f"the last {days} days"
    if lag_days:
        span = f"{days} day{'s' if days > 1 else ''} ending {lag_days} days ago"
    return span


def describe(definition: FeatureDef, values: Mapping[str, float], currency: str = "") -> str:
    """One feature's value as a sentence fragment (``values`` holds every feature)."""
    value = values[definition.name]
    window = definition.window
    if window is None:
        if definition.statistic == "amount":
            usual = values.get("customer_avg_amount_30d")
            text = f"amount {value:.2f}{' ' + currency if currency else ''}"
            if usual:
                text += f" is {value / usual:.1f} times the customer's 30-day average ({usual:.2f})"
            return text
        if definition.statistic == "is_night":
            return "made at night (00:00-06:59 UTC)" if value else "made during the day"
        if definition.statistic == "is_weekend":
            return "made on a weekend" if value else "made on a weekday"
        return f"{definition.name} is {value:.4g}"
    period = _period(window.days, window.lag_days)
    who = f"the {window.entity}"
    if definition.statistic == "count":
        return f"{value:.0f} transactions by {who} in {period}"
    if definition.statistic == "mean_amount":
        return f"{who}'s average amount over {period} is {value:.2f}"
    if definition.statistic == "fraud_rate":
        return f"{value:.0%} of {who}'s transactions in {period} were fraud"
    return f"{definition.name} is {value:.4g}"


def feature_reasons(
    model: LoadedModel,
    row: np.ndarray,
    values: Mapping[str, float],
    definitions: Sequence[FeatureDef],
    currency: str = "",
    top: int = TOP_REASONS,
) -> list[Reason]:
    """The ``top`` features that raised the score most, as reasons (largest first)."""
    _, contributions = model.model.contributions(row)
    by_name = {d.name: d for d in definitions}
    order = np.argsort(-contributions)
    reasons = []
    for index in order[:top]:
        contribution = float(contributions[index])
        if contribution <= 0:
            break
        name = model.feature_names[index]
        definition = by_name.get(name, FeatureDef(name, name))
        reasons.append(
            Reason(
                "feature",
                describe(definition, values, currency),
                {
                    "feature": name,
                    "value": round(float(values[name]), 6),
                    "contribution": round(contribution, 6),
                },
            )
        )
    return reasons
