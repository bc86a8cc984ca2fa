"""Builders shared by the rule set, rule service and scoring-with-rules tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from chalicelib.features.spec import feature_definitions
from chalicelib.identifiers import IdentifierHasher
from chalicelib.rules import Schema
from chalicelib.rules.definitions import Rule, parse_rule
from chalicelib.rules.lists import ListValues
from chalicelib.rules.ruleset import CompiledRuleSet
from chalicelib.transaction import Transaction, parse_transaction
from tests.conftest import TEST_HASH_KEY, transaction

FEATURE_NAMES = tuple(d.name for d in feature_definitions())
SCHEMA = Schema.for_transaction(FEATURE_NAMES)
HASHER = IdentifierHasher(TEST_HASH_KEY.encode())
VALUES = ListValues(HASHER)
NOW = datetime(2025, 3, 14, 13, 0, tzinfo=UTC)


def tx(**overrides: Any) -> Transaction:
    """The event fixture's transaction with ``overrides`` (``None`` removes a field)."""
    return parse_transaction(transaction(**overrides), default_currency="EUR")


def rule(rule_id: str, expression: str, action: str = "block", **fields: Any) -> Rule:
    """A validated rule (``suspend={...}`` and the other body fields as keywords)."""
    body = {"rule_id": rule_id, "expression": expression, "action": action, **fields}
    return parse_rule(body, SCHEMA)


def rule_set(
    rules: Sequence[Rule], now: datetime = NOW, counted: list[str] | None = None
) -> CompiledRuleSet:
    """A compiled rule set whose clock stands at ``now``; metrics go to ``counted``."""
    sink = counted if counted is not None else []
    return CompiledRuleSet("7", rules, SCHEMA, VALUES, clock=now.timestamp, count=sink.append)


class FakeClock:
    """A clock tests move by hand (monotonic seconds or an aware datetime)."""

    def __init__(self, now: Any = 0.0) -> None:
        self.now = now

    def __call__(self) -> Any:
        return self.now
