"""The schema of identifiers, the error body, and the package's doctests."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import chalicelib.rules
from chalicelib.errors import ConfigurationError, FraudServiceError
from chalicelib.rules import (
    Field,
    RuleError,
    RuleLimitError,
    RuleSyntaxError,
    RuleTypeError,
    Schema,
    Type,
    compile_expression,
    feature_identifier,
)
from chalicelib.rules.schema import TRANSACTION_FIELDS

HANDBOOK_FEATURES = (
    "amount",
    "is_weekend",
    "is_night",
    *(f"customer_nb_tx_{d}d" for d in (1, 7, 30)),
    *(f"customer_avg_amount_{d}d" for d in (1, 7, 30)),
    *(f"terminal_nb_tx_{d}d" for d in (1, 7, 30)),
    *(f"terminal_risk_{d}d" for d in (1, 7, 30)),
)


@pytest.mark.parametrize(
    ("feature", "identifier"),
    [
        ("customer_nb_tx_1d", "customer.nb_tx_1d"),
        ("terminal_risk_7d", "terminal.risk_7d"),
        ("card_nb_tx_1d", "card.nb_tx_1d"),
        ("device_nb_customers_7d", "device.nb_customers_7d"),
        ("merchant_fraud_rate_30d", "merchant.fraud_rate_30d"),
        ("customer_amount_ratio_30d", "customer.amount_ratio_30d"),
        ("is_night", "is_night"),
        ("amount", "amount"),
        ("customer", "customer"),
        ("customer_", "customer_"),
    ],
)
def test_feature_identifier(feature: str, identifier: str) -> None:
    assert feature_identifier(feature) == identifier


def test_default_schema_types() -> None:
    schema = Schema.for_transaction(HANDBOOK_FEATURES)
    assert schema.get("amount") == Field(Type.NUMBER, from_transaction=True)
    assert schema.get("timestamp") == Field(Type.TIMESTAMP, from_transaction=True)
    assert schema.get("email") == Field(Type.STRING, from_transaction=True)
    assert schema.get("customer.nb_tx_30d") == Field(Type.NUMBER)
    assert schema.get("terminal.risk_1d") == Field(Type.NUMBER)
    assert schema.get("is_weekend") == Field(Type.NUMBER)
    for score in ("score", "risk_score", "anomaly_score"):
        assert schema.get(score) == Field(Type.NUMBER)
    assert schema.get("metadata.channel") == Field(Type.ANY, from_transaction=True)
    assert schema.get("metadata.device.os") == Field(Type.ANY, from_transaction=True)
    assert schema.get("metadata") is None
    assert schema.get("customer_nb_tx_1d") is None
    assert schema.get("hour") is None
    assert set(TRANSACTION_FIELDS) <= set(schema.names())
    assert "metadata.*" in schema.names()


def test_exact_names_win_over_wildcards_and_longer_prefixes_over_shorter() -> None:
    schema = Schema(
        {
            "metadata.*": Field(Type.ANY),
            "metadata.risk.*": Field(Type.NUMBER),
            "metadata.risk.label": Field(Type.STRING),
        }
    )
    assert schema.get("metadata.risk.label") == Field(Type.STRING)
    assert schema.get("metadata.risk.level") == Field(Type.NUMBER)
    assert schema.get("metadata.other") == Field(Type.ANY)


@pytest.mark.parametrize(
    "fields",
    [
        {"bad name": Field(Type.NUMBER)},
        {"a..b": Field(Type.NUMBER)},
        {"1abc": Field(Type.NUMBER)},
        {"*": Field(Type.NUMBER)},
        {"x" * 65: Field(Type.NUMBER)},
        {"nothing": Field(Type.NULL)},
    ],
)
def test_invalid_schema_is_a_configuration_error(fields: dict[str, Field]) -> None:
    with pytest.raises(ConfigurationError):
        Schema(fields)


def test_invalid_feature_name_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        Schema.for_transaction(["customer nb"])


def test_error_hierarchy() -> None:
    for error_type in (RuleSyntaxError, RuleTypeError, RuleLimitError):
        assert issubclass(error_type, RuleError)
    assert issubclass(RuleError, FraudServiceError)


def test_non_text_expression_is_a_syntax_error() -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        compile_expression(42, Schema.for_transaction([]))  # type: ignore[arg-type]
    assert caught.value.position == 0


def test_limit_error_to_dict() -> None:
    with pytest.raises(RuleLimitError) as caught:
        compile_expression("amount > 1e16", Schema.for_transaction([]))
    assert caught.value.to_dict() == {
        "error": "rule_limit_error",
        "message": "number too large: expected a magnitude of at most 1e+15 at position 9 "
        "(line 1, column 10)",
        "position": 9,
        "line": 1,
        "column": 10,
        "expected": "a magnitude of at most 1e+15",
    }


def _modules() -> list[str]:
    package = chalicelib.rules
    return [package.__name__] + [
        f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)
    ]


@pytest.mark.parametrize("module_name", _modules())
def test_doctests(module_name: str) -> None:
    result = doctest.testmod(importlib.import_module(module_name))
    assert result.failed == 0
