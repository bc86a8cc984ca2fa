"""Reasons in words: phrasing of feature values and of contributions, on real payloads."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chalicelib.explain import compared_with_usual, describe, effect, feature_reasons
from chalicelib.features.online import OnlineFeatures
from chalicelib.features.spec import SECONDS_PER_DAY, FeatureDef, WindowRef, feature_definitions
from chalicelib.model.artifact import LoadedModel, Thresholds, load_directory
from chalicelib.model.compiled import LogisticModel
from chalicelib.model.scorer import ModelScorer
from chalicelib.state.updates import apply_update
from chalicelib.transaction import parse_transaction
from tests.conftest import transaction
from tests.models import trained

DEFINITIONS = {d.name: d for d in feature_definitions()}


def test_counts_are_singular_or_plural():
    count = DEFINITIONS["customer_nb_tx_1d"]

    assert describe(count, {count.name: 1.0}) == (
        "1 transaction by the customer in the last 24 hours"
    )
    assert describe(count, {count.name: 0.0}).startswith("0 transactions")
    assert describe(count, {count.name: 3.0}).startswith("3 transactions")


def test_lagged_windows_say_when_they_end():
    risk = DEFINITIONS["terminal_risk_1d"]
    week = FeatureDef("x", "count", WindowRef("terminal", 7 * SECONDS_PER_DAY, SECONDS_PER_DAY))

    assert describe(risk, {risk.name: 0.25}) == (
        "25% of the terminal's transactions in the 24 hours ending 7 days ago were fraud"
    )
    assert describe(week, {"x": 2.0}) == (
        "2 transactions by the terminal in the 7 days ending 1 day ago"
    )


def test_amount_against_the_customers_average_unless_it_is_the_first():
    amount = DEFINITIONS["amount"]
    values = {"amount": 520.0, "customer_avg_amount_30d": 100.0, "customer_nb_tx_30d": 6.0}

    assert describe(amount, values, "EUR") == (
        "amount 520.00 EUR is 5.2 times the customer's 30-day average (100.00)"
    )
    assert describe(amount, {**values, "customer_nb_tx_30d": 1.0}, "EUR") == (
        "amount 520.00 EUR, the customer's first transaction in 30 days"
    )


def test_typical_value_is_shown_only_when_a_low_value_raised_the_score():
    count = DEFINITIONS["terminal_nb_tx_30d"]
    average = DEFINITIONS["customer_avg_amount_7d"]

    assert compared_with_usual(count, 0.0, 37.2) == " (typically 37)"
    assert compared_with_usual(average, 3.5, 45.0, "EUR") == " (typically 45.00 EUR)"
    assert compared_with_usual(count, 50.0, 37.0) == ""
    assert compared_with_usual(count, 37.4, 37.0) == ""  # reads the same
    assert compared_with_usual(DEFINITIONS["is_night"], 0.0, 1.0) == ""
    assert compared_with_usual(count, 0.0, None) == ""


@pytest.mark.parametrize(
    ("contribution", "space", "text"),
    [
        (0.123, "probability", "raises the score by 0.12"),
        (math.log(3.5), "log_odds", "raises the odds of fraud 3.5-fold"),
        (math.log(42.4), "log_odds", "raises the odds of fraud 42-fold"),
        (math.log(250.0), "log_odds", "raises the odds of fraud more than 100-fold"),
        (20.0, "log_odds", "raises the odds of fraud more than 100-fold"),
        (math.log2(1.06), "log2_anomaly_score", "raises the anomaly score 1.06-fold"),
    ],
)
def test_effect_is_said_in_the_models_own_terms_and_capped(contribution, space, text):
    assert effect(contribution, space) == text


def logistic(coef: list[float]) -> LoadedModel:
    """A logistic model on ``amount`` and ``customer_nb_tx_1d`` (no standardisation)."""
    compiled = LogisticModel(("amount", "customer_nb_tx_1d"), coef=np.array(coef), intercept=-5.0)
    return LoadedModel("v", ModelScorer(compiled, None), Thresholds(0.5, 0.9), {})


def reasons_of(model: LoadedModel, amount: float, count: float) -> list[str]:
    values = {"amount": amount, "customer_nb_tx_1d": count}
    inputs = model.matrix([values])[0]
    return [
        r.details["feature"]
        for r in feature_reasons(model, inputs, values, feature_definitions(), "EUR")
    ]


def test_no_feature_reasons_when_the_score_is_below_the_models_typical_one():
    model = logistic([1.0, -2.0])

    # amount pushes towards fraud (+1) but the count pulls further back (-2): nothing to say
    assert reasons_of(model, amount=1.0, count=1.0) == []
    assert reasons_of(model, amount=3.0, count=1.0) == ["amount"]


def test_negligible_pushes_are_not_reasons():
    model = logistic([1.0, 0.05])  # odds x1.05 from one transaction: not worth a word

    assert reasons_of(model, amount=2.0, count=1.0) == ["amount"]
    assert reasons_of(model, amount=2.0, count=2.0) == ["amount", "customer_nb_tx_1d"]


def features_of(*payloads: dict) -> list[dict[str, float]]:
    """Online features of the payloads, each seeing the ones before (as in production)."""
    engine, items, rows = OnlineFeatures(), {}, []
    for payload in payloads:
        tx = parse_transaction(payload, default_currency="EUR")
        rows.append(engine.compute(tx, items))
        for update in engine.record(tx, items).updates:
            apply_update(items.setdefault(update.key, {}), update)
    return rows


@pytest.mark.parametrize(
    ("kind", "space"),
    [("forest", "probability"), ("logistic", "log_odds"), ("boosting", "log_odds")],
)
def test_reasons_of_a_real_payload_add_up_and_read_naturally(kind, space):
    model = load_directory(trained(kind))
    history = [
        transaction(transaction_id=f"h-{i}", amount=30.0, timestamp=f"2025-03-{9 + i}T12:00:00")
        for i in range(1, 6)
    ]
    values = features_of(*history, transaction(amount=640.0))[-1]
    scored = model.score([values])

    reasons = feature_reasons(model, scored.inputs[0], values, feature_definitions(), "EUR")

    explanation = model.scorer.explain(scored.inputs[0])
    output = explanation.bias + explanation.contributions.sum()
    score = float(scored.scores[0])
    assert (output if space == "probability" else 1 / (1 + math.exp(-output))) == pytest.approx(
        score, abs=1e-9
    )
    assert reasons, "a 640 EUR payment after five of 30 EUR this week raises the score"
    contributions = [r.details["contribution"] for r in reasons]
    assert contributions == sorted(contributions, reverse=True) and contributions[0] > 0
    assert contributions[0] == pytest.approx(float(explanation.contributions.max()), abs=1e-6)
    assert all(r.details["contribution_space"] == space for r in reasons)
    verb = "raises the score by" if space == "probability" else "raises the odds of fraud"
    assert all(verb in r.message for r in reasons)


def test_low_history_reasons_carry_the_typical_value():
    model = load_directory(trained("forest"))
    values = features_of(transaction())[0]  # a first transaction: no history at all
    scored = model.score([values])

    reasons = feature_reasons(model, scored.inputs[0], values, feature_definitions(), "EUR")

    low = [r for r in reasons if r.details["value"] < model.feature_usual[r.details["feature"]]]
    assert low and all("(typically " in r.message for r in low)


def test_anomaly_only_model_explains_with_the_isolation_forest():
    model = load_directory(trained("anomaly"))
    values = features_of(transaction(amount=4_000.0))[0]
    scored = model.score([values])

    reasons = feature_reasons(model, scored.inputs[0], values, feature_definitions(), "EUR")

    explanation = model.scorer.explain(scored.inputs[0])
    assert 2.0 ** (explanation.bias + explanation.contributions.sum()) == pytest.approx(
        float(scored.scores[0]), abs=1e-9
    )
    assert reasons and all("raises the anomaly score" in r.message for r in reasons)
    assert np.all(np.diff([r.details["contribution"] for r in reasons]) <= 0)
