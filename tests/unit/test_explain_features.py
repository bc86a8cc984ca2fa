"""Every feature reads naturally for an analyst (chalicelib.explain.describe)."""

from __future__ import annotations

import pytest

from chalicelib.explain import describe
from chalicelib.features.spec import CARD, CUSTOMER, TERMINAL, FeatureConfig, feature_definitions

DEFINITIONS = {d.name: d for d in feature_definitions(FeatureConfig((CUSTOMER, CARD, TERMINAL)))}
VALUES = {name: 2.0 for name in DEFINITIONS} | {"amount": 2.5, "customer_avg_amount_30d": 80.0}


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_every_feature_has_a_sentence_of_its_own(name):
    text = describe(DEFINITIONS[name], VALUES, "EUR")

    assert not text.startswith(f"{name} is") and "_" not in text  # not the fallback


@pytest.mark.parametrize(
    ("name", "value", "amount", "expected"),
    [
        (
            "customer_amount_ratio_30d",
            5.2,
            420.0,
            "amount is 5.2 times the customer's average over the last 30 days",
        ),
        (
            "customer_amount_zscore_30d",
            -1.26,
            5.0,
            "amount is 1.3 standard deviations below the customer's usual in the last 30 days",
        ),
        (
            "customer_nb_small_tx_10m",
            3,
            4.99,
            "3rd transaction of 5.00 EUR or less by the customer within 10 minutes",
        ),
        (
            "customer_nb_small_tx_10m",
            2,
            50.0,
            "2 transactions of 5.00 EUR or less by the customer within 10 minutes",
        ),
        (
            "customer_seconds_since_prev_30d",
            42,
            10.0,
            "42 seconds after the customer's previous transaction",
        ),
        (
            "customer_seconds_since_prev_30d",
            9_000,
            10.0,
            "2.5 hours after the customer's previous transaction",
        ),
        (
            "customer_seconds_since_prev_30d",
            2_592_000,
            10.0,
            "no earlier transaction by the customer in the last 30 days",
        ),
        (
            "customer_nb_devices_7d",
            3,
            10.0,
            "3 different devices used by the customer in the last 7 days",
        ),
        (
            "terminal_risk_7d",
            0.25,
            10.0,
            "25% of the terminal's transactions in the 7 days ending 7 days ago were fraud",
        ),
    ],
)
def test_statistics_read_as_sentences(name, value, amount, expected):
    values = {name: value, "amount": amount}

    assert describe(DEFINITIONS[name], values, "EUR") == expected
