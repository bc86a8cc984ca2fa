"""Reasons in words: the features that pushed a score up, phrased for a fraud analyst.

Contributions come from the compiled model (path contributions for trees, coefficient
times standardised value for linear models); the phrasing comes from each feature's
definition, so a new window or entity reads naturally without a new template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from chalicelib.decisions import Reason
from chalicelib.features.spec import ATTRIBUTE_NOUNS, SECONDS_PER_DAY, FeatureDef, WindowRef
from chalicelib.model.artifact import LoadedModel

TOP_REASONS = 3


def _span(seconds: int) -> str:
    """``24 hours``, ``7 days``, ``10 minutes``, ``90 seconds``."""
    for unit, size in (("day", SECONDS_PER_DAY), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0 and (unit != "day" or seconds > SECONDS_PER_DAY):
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _period(window: WindowRef) -> str:
    """The window in words: ``the last 7 days``, ``1 day ending 7 days ago``."""
    if window.lag_seconds:
        span = _span(window.seconds) if window.seconds != SECONDS_PER_DAY else "1 day"
        return f"{span} ending {_span(window.lag_seconds)} ago"
    return f"the last {_span(window.seconds)}"


def _duration(seconds: float) -> str:
    """A duration rounded for reading: ``42 seconds``, ``3.5 hours``, ``2.0 days``."""
    if seconds < 120:
        return f"{seconds:.0f} second{'s' if seconds != 1 else ''}"
    if seconds < 2 * 3_600:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 2 * SECONDS_PER_DAY:
        return f"{seconds / 3_600:.1f} hours"
    return f"{seconds / SECONDS_PER_DAY:.1f} days"


def _ordinal(number: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``, ``22nd``."""
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def _money(amount: float, currency: str) -> str:
    return f"{amount:.2f}{' ' + currency if currency else ''}"


def _describe_transaction(
    definition: FeatureDef, value: float, values: Mapping[str, float], currency: str
) -> str:
    if definition.statistic == "amount":
        usual = values.get("customer_avg_amount_30d")
        text = f"amount {_money(value, currency)}"
        if usual:
            text += f" is {value / usual:.1f} times the customer's 30-day average ({usual:.2f})"
        return text
    if definition.statistic == "is_night":
        return "made at night (00:00-06:59 UTC)" if value else "made during the day"
    if definition.statistic == "is_weekend":
        return "made on a weekend" if value else "made on a weekday"
    return f"{definition.name} is {value:.4g}"


def _describe_window(
    definition: FeatureDef,
    window: WindowRef,
    value: float,
    values: Mapping[str, float],
    currency: str,
) -> str:
    period = _period(window)
    who = f"the {window.entity}"
    statistic = definition.statistic
    if statistic == "count":
        return f"{value:.0f} transactions by {who} in {period}"
    if statistic == "mean_amount":
        return f"{who}'s average amount over {period} is {value:.2f}"
    if statistic == "fraud_rate":
        return f"{value:.0%} of {who}'s transactions in {period} were fraud"
    if statistic == "distinct":
        noun = ATTRIBUTE_NOUNS.get(str(definition.argument), f"{definition.argument} values")
        return f"{value:.0f} different {noun.replace('_', ' ')} used by {who} in {period}"
    if statistic == "amount_ratio":
        return f"amount is {value:.1f} times {who}'s average over {period}"
    if statistic == "amount_zscore":
        side = "above" if value >= 0 else "below"
        return f"amount is {abs(value):.1f} standard deviations {side} {who}'s usual in {period}"
    if statistic == "since_previous":
        if value >= window.seconds:
            return f"no earlier transaction by {who} in {period}"
        return f"{_duration(value)} after {who}'s previous transaction"
    if statistic == "small_count":
        limit = _money(float(definition.argument or 0), currency)
        within = f"within {_span(window.seconds)}"
        if values.get("amount", float("inf")) <= float(definition.argument or 0):
            return f"{_ordinal(round(value))} transaction of {limit} or less by {who} {within}"
        return f"{value:.0f} transactions of {limit} or less by {who} {within}"
    return f"{definition.name} is {value:.4g}"


def describe(definition: FeatureDef, values: Mapping[str, float], currency: str = "") -> str:
    """One feature's value as a sentence fragment (``values`` holds every feature).

    >>> from chalicelib.features.spec import feature_definitions
    >>> defs = {d.name: d for d in feature_definitions()}
    >>> values = {"amount": 2.5, "customer_nb_small_tx_10m": 3, "customer_amount_ratio_30d": 5.2}
    >>> describe(defs["customer_nb_small_tx_10m"], values, "EUR")
    '3rd transaction of 5.00 EUR or less by the customer within 10 minutes'
    >>> describe(defs["customer_amount_ratio_30d"], values)
    "amount is 5.2 times the customer's average over the last 30 days"
    """
    value = values[definition.name]
    if definition.window is None:
        return _describe_transaction(definition, value, values, currency)
    return _describe_window(definition, definition.window, value, values, currency)


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
