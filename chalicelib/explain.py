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
- what it did to the score, in the model's own terms and in plain words: a forest raises
  the score by some points, logistic regression and gradient boosting raise the odds of
  fraud some-fold (said "more than 100-fold" beyond ``MAX_FACTOR``), the isolation forest
  raises the anomaly score some-fold.

Only features that pushed the score toward fraud are named, and only when the score is above
the model's typical one (its bias: the score of an average training transaction) and the
push is not negligible (``NEGLIGIBLE``). An allowed payment scoring below the typical score
thus gets no feature reasons: nothing made it look like fraud, even if some feature, taken
alone, leaned that way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from chalicelib.decisions import Reason
from chalicelib.features.spec import ATTRIBUTE_NOUNS, SECONDS_PER_DAY, FeatureDef, WindowRef
from chalicelib.model.artifact import LoadedModel
from chalicelib.model.compiled import LOG2_ANOMALY, LOG_ODDS, PROBABILITY
from chalicelib.model.scorer import ANOMALY_FEATURE

TOP_REASONS = 3
MAX_FACTOR = 100
"""Effects on the odds or on the anomaly score beyond this read ``more than 100-fold``."""
NEGLIGIBLE = {PROBABILITY: 0.005, LOG_ODDS: math.log(1.1), LOG2_ANOMALY: math.log2(1.01)}
"""Smallest contribution worth a reason, per output space: less would read ``by 0.00`` or
``1.0-fold`` (0.5 points of probability, odds x1.1, anomaly score x1.01)."""
BOOLEAN_STATISTICS = frozenset({"is_night", "is_weekend"})
COUNT_STATISTICS = frozenset({"count", "distinct", "small_count"})


def _plural(count: float, noun: str) -> str:
    """``1 transaction``, ``3 transactions``, ``0 transactions``."""
    return f"{count:.0f} {noun}{'' if count == 1 else 's'}"


def _span(seconds: int, one_day: str = "24 hours") -> str:
    """``24 hours``, ``7 days``, ``10 minutes``, ``90 seconds`` (``one_day`` for 86,400)."""
    if seconds == SECONDS_PER_DAY:
        return one_day
    for unit, size in (("day", SECONDS_PER_DAY), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _period(window: WindowRef) -> str:
    """The window in words: ``the last 7 days``, ``the 24 hours ending 7 days ago``."""
    if window.lag_seconds:
        return f"the {_span(window.seconds)} ending {_span(window.lag_seconds, '1 day')} ago"
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
        return f"{_plural(value, 'transaction')} by {who} in {period}"
    if statistic == "mean_amount":
        return f"{who}'s average amount over {period} is {_money(value, currency)}"
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


def format_value(definition: FeatureDef, value: float, currency: str = "") -> str:
    """A feature value as an analyst reads it: a count, an amount, a share, a number."""
    if definition.statistic in COUNT_STATISTICS:
        return f"{value:.0f}"
    if definition.statistic in ("amount", "mean_amount"):
        return _money(value, currency)
    if definition.statistic == "fraud_rate":
        return f"{value:.0%}"
    if definition.statistic == "since_previous":
        return _duration(value)
    return f"{value:.4g}"


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
    """``1.06``, ``3.5``, ``25``, ``more than 100``."""
    if factor >= MAX_FACTOR:
        return f"more than {MAX_FACTOR:,}"
    if factor >= 10:
        return f"{factor:.0f}"
    return f"{factor:.2f}" if factor < 1.1 else f"{factor:.1f}"


def effect(contribution: float, space: str) -> str:
    """What a positive contribution did to the score, in the additive space of the model.

    >>> effect(0.12, "probability")
    'raises the score by 0.12'
    >>> effect(1.2, "log_odds")
    'raises the odds of fraud 3.3-fold'
    >>> effect(20.0, "log_odds")
    'raises the odds of fraud more than 100-fold'
    """
    if space == PROBABILITY:
        return f"raises the score by {contribution:.2f}"
    if space == LOG_ODDS:
        return f"raises the odds of fraud {_factor(math.exp(contribution))}-fold"
    if space == LOG2_ANOMALY:
        return f"raises the anomaly score {_factor(2.0**contribution)}-fold"
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
    Empty when the score is not above the model's typical score (the contributions do not
    add up to a rise); contributions below ``NEGLIGIBLE`` are left out.
    """
    explanation = model.scorer.explain(inputs)
    by_name = {d.name: d for d in definitions}
    contributions = explanation.contributions
    if contributions.sum() <= 0:
        return []
    smallest = NEGLIGIBLE.get(explanation.space, 0.0)
    reasons = []
    for index in np.argsort(-contributions, kind="stable")[:top]:
        contribution = float(contributions[index])
        if contribution < smallest or contribution <= 0:
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
