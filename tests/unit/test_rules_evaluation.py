"""Evaluation of compiled rules: operators, functions, null semantics, explain, lookups."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.rules import (
    MappingContext,
    RuleEvaluationError,
    Schema,
    compile_expression,
    list_key,
)

FEATURES = ("customer_nb_tx_1d", "customer_avg_amount_30d", "terminal_risk_7d")
SCHEMA = Schema.for_transaction(FEATURES)
TUESDAY_3AM = datetime(2024, 5, 7, 3, 30, tzinfo=UTC)
TRANSACTION: dict[str, Any] = {
    "amount": 1250.0,
    "customer_id": "c42",
    "card_id": "card-9",
    "country": "FR",
    "email": "Jane.Doe@Example.com",
    "timestamp": TUESDAY_3AM,
    "customer.nb_tx_1d": 7,
    "customer.avg_amount_30d": 80.0,
    "score": 0.8049,
}
LISTS = {"watchlist": {"c42", "c7"}, "amounts": {"1250", "0.5"}, "codes": {"42"}}


def run(text: str, lists: dict[str, set[str]] | None = None, **values: Any) -> Any:
    """Evaluate ``text`` against ``values`` (dots spelled ``__``) and ``lists``."""
    context = MappingContext({k.replace("__", "."): v for k, v in values.items()}, lists)
    return compile_expression(text, SCHEMA).evaluate(context)


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("amount + 1 == 11", True),
        ("amount - 1 == 9", True),
        ("amount * 3 == 30", True),
        ("amount / 4 == 2.5", True),
        ("amount % 3 == 1", True),
        ("-amount == -10", True),
        ("-amount % 3 == 2", True),  # floor modulo, as in Python
        ("amount == 10", True),
        ("amount != 10", False),
        ("amount < 10", False),
        ("amount <= 10", True),
        ("amount > 9.99", True),
        ("amount >= 10.01", False),
        ("2 + 3 * amount == 32", True),
        ("(2 + 3) * amount == 50", True),
        ("amount in [1, 10, 100]", True),
        ("amount in [1e1]", True),
        ("amount not in [1, 10]", False),
        ("amount * -1 in [-10]", True),
        ("country < 'GB'", True),
        ("country >= 'FR'", True),
        ("country == 'FR'", True),
        ("country in ['DE', 'FR']", True),
        ("country not in ['DE']", True),
    ],
)
def test_operators(text: str, result: bool) -> None:
    assert run(text, amount=10, country="FR") is result


def test_division_and_modulo_by_zero_give_null() -> None:
    assert run("amount / 0 > 1", amount=10) is None
    assert run("amount % 0 > 1", amount=10) is None
    assert run("amount / (amount - 10) > 1", amount=10) is None
    assert run("coalesce(amount / 0, -1) == -1", amount=10) is True


def test_overflowing_arithmetic_gives_null() -> None:
    assert run("amount * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 > 1", amount=1e300) is None
    assert run("amount * 1e15 > 1", amount=1e300) is None


NULLABLE = [
    "amount + 1 > 0",
    "1 - amount > 0",
    "amount * 2 > 0",
    "amount / 2 > 0",
    "amount % 2 > 0",
    "-amount < 0",
    "amount == 1",
    "amount != 1",
    "amount < 1",
    "amount <= 1",
    "amount > 1",
    "amount >= 1",
    "amount in [1, 2]",
    "amount not in [1, 2]",
    "amount in @amounts",
    "amount not in @amounts",
    "abs(amount) > 1",
    "min(amount, 1) > 0",
    "max(1, amount) > 0",
    "round(amount) > 0",
    "round(1.5, amount) > 0",
    "lower(country) == 'fr'",
    "upper(country) == 'FR'",
    "len(country) > 1",
    "contains(country, 'F')",
    "contains('FR', country)",
    "starts_with(country, 'F')",
    "ends_with(country, 'R')",
    "matches(country, 'F')",
    "hour(timestamp) > 1",
    "weekday(timestamp) > 1",
    "not (amount > 1)",
    "metadata.x > 1",
]


@pytest.mark.parametrize("text", NULLABLE)
def test_null_operand_gives_null(text: str) -> None:
    assert run(text, lists=LISTS) is None


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("amount is null", True),
        ("amount is not null", False),
        ("amount + 1 is null", True),
        ("coalesce(amount, 5) == 5", True),
        ("coalesce(amount, metadata.a, 7) == 7", True),
        ("coalesce(metadata.a, metadata.b) is null", True),
        ("coalesce(null, country) is null", True),
        ("amount > 1 or true", True),
        ("amount > 1 and false", False),
        ("amount > 1 or false", None),
        ("amount > 1 and true", None),
    ],
)
def test_null_handling(text: str, result: bool | None) -> None:
    assert run(text) is result


KLEENE = {True: "true", False: "false", None: "metadata.unknown"}


@pytest.mark.parametrize(("left", "right"), list(itertools.product(KLEENE, repeat=2)))
def test_three_valued_logic_truth_table(left: bool | None, right: bool | None) -> None:
    def kleene_and(a: bool | None, b: bool | None) -> bool | None:
        if a is False or b is False:
            return False
        return None if a is None or b is None else True

    def kleene_not(a: bool | None) -> bool | None:
        return None if a is None else not a

    def kleene_or(a: bool | None, b: bool | None) -> bool | None:
        return kleene_not(kleene_and(kleene_not(a), kleene_not(b)))

    a, b = KLEENE[left], KLEENE[right]
    assert run(f"{a} and {b}") is kleene_and(left, right)
    assert run(f"{a} or {b}") is kleene_or(left, right)
    assert run(f"not {a}") is kleene_not(left)
    assert run(f"{a} and {b} and {a}") is kleene_and(kleene_and(left, right), left)
    assert run(f"{a} or {b} or {a}") is kleene_or(kleene_or(left, right), left)


def test_and_or_short_circuit_without_reading_the_rest() -> None:
    reads: list[str] = []

    class Spy:
        def value(self, name: str) -> Any:
            reads.append(name)
            return {"amount": 5}.get(name)

        def in_list(self, list_name: str, value: str) -> bool:
            raise AssertionError("not expected")

    rule = compile_expression("amount > 10 and customer_id in @watchlist", SCHEMA)
    assert rule.evaluate(Spy()) is False
    assert reads == ["amount"]


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("lower(email) == 'jane.doe@example.com'", True),
        ("upper(country) == 'FR'", True),
        ("len(email) == 20", True),
        ("contains(email, '.Doe@')", True),
        ("contains(lower(email), '.doe@')", True),
        ("starts_with(email, 'Jane')", True),
        ("starts_with(email, 'jane')", False),
        ("ends_with(lower(email), '@example.com')", True),
        ("matches(email, '^[A-Za-z.]+@example\\\\.com$')", False),
        ("matches(email, '(?i)^[a-z.]+@example\\\\.com$')", True),
        ("matches(email, 'Doe')", True),
        ("abs(-amount) == 1250", True),
        ("min(amount, 100, 7) == 7", True),
        ("max(amount, customer.nb_tx_1d) == 1250", True),
        ("round(customer.avg_amount_30d / 3) == 27", True),
        ("round(customer.avg_amount_30d / 3, 2) == 26.67", True),
        ("round(2.5) == 2", True),  # half to even
        ("round(2.675, 1.5) is null", True),
        ("round(2.675, 11) is null", True),
        ("round(2.675, -1) is null", True),
        ("hour(timestamp) == 3", True),
        ("weekday(timestamp) == 1", True),
        ("coalesce(metadata.x, country) == 'FR'", True),
    ],
)
def test_functions(text: str, result: bool) -> None:
    context = MappingContext(TRANSACTION, LISTS)
    assert compile_expression(text, SCHEMA).evaluate(context) is result


def test_hour_and_weekday_read_utc() -> None:
    paris = timezone(timedelta(hours=2))
    local = datetime(2024, 5, 7, 1, 30, tzinfo=paris)  # Monday 23:30 UTC
    assert run("hour(timestamp) == 23 and weekday(timestamp) == 0", timestamp=local) is True
    naive = datetime(2024, 5, 12, 22, 0)  # a Sunday, read as UTC
    assert run("hour(timestamp) == 22 and weekday(timestamp) == 6", timestamp=naive) is True


def test_timestamps_compare() -> None:
    assert run("timestamp == timestamp", timestamp=TUESDAY_3AM) is True
    assert run("timestamp < timestamp", timestamp=TUESDAY_3AM) is False


def test_matches_gives_null_on_text_over_the_input_cap() -> None:
    assert run("matches(email, 'a')", email="a" * 256) is True
    assert run("matches(email, 'a')", email="a" * 257) is None


@pytest.mark.parametrize(
    ("text", "value", "result"),
    [
        ("metadata.x > 1", 2, True),
        ("metadata.x > 1", 2.5, True),
        ("metadata.x > 1", Decimal("2.5"), True),
        ("metadata.x > 1", "2", None),
        ("metadata.x > 1", True, None),
        ("metadata.x > 1", {"a": 1}, None),
        ("metadata.x > 1", [1], None),
        ("metadata.x == 'web'", "web", True),
        ("metadata.x == 'web'", 1, None),
        ("metadata.x", True, True),
        ("metadata.x", 1, None),
        ("metadata.x", "true", None),
        ("not metadata.x", False, True),
        ("metadata.x and true", "yes", None),
        ("metadata.x in [1, 2]", True, None),
        ("metadata.x in [1, 2]", 1, True),
        ("metadata.x in ['a']", "a", True),
        ("metadata.x in [true]", 1, None),
        ("lower(metadata.x) == 'a'", "A", True),
        ("lower(metadata.x) == 'a'", 5, None),
        ("metadata.x + 1 > 2", 5, True),
        ("metadata.x + 1 > 2", "5", None),
        ("metadata.x is null", "anything", False),
        ("metadata.x is null", None, True),
        ("metadata.x == metadata.x", 3, True),
        ("metadata.x == metadata.x", "s", True),
        ("metadata.x == metadata.x", True, True),
        ("metadata.x == metadata.x", {"a": 1}, None),
        ("metadata.x < metadata.x", True, None),
        ("metadata.x <= metadata.x", "s", True),
        ("metadata.x in @codes", 42, True),
        ("metadata.x in @codes", 42.0, True),
        ("metadata.x in @codes", "42", True),
        ("metadata.x in @codes", True, None),
        ("metadata.x in @codes", [42], None),
    ],
)
def test_any_values_are_checked_at_run_time(text: str, value: Any, result: bool | None) -> None:
    assert run(text, lists=LISTS, metadata__x=value) is result


def test_dynamic_comparison_of_two_any_values_of_different_types_is_null() -> None:
    assert run("metadata.a == metadata.b", metadata__a=1, metadata__b="1") is None
    assert run("metadata.a != metadata.b", metadata__a=1, metadata__b=1.0) is False


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("customer_id in @watchlist", True),
        ("customer_id not in @watchlist", False),
        ("card_id in @watchlist", False),
        ("card_id in @missing_list", False),
        ("card_id not in @missing_list", True),
        ("amount in @amounts", True),
        ("amount / 2500 in @amounts", True),
        ("lower(country) in @watchlist", False),
        ("device_id in @watchlist", None),
    ],
)
def test_stored_list_membership(text: str, result: bool | None) -> None:
    context = MappingContext(TRANSACTION, LISTS)
    assert compile_expression(text, SCHEMA).evaluate(context) is result


def test_list_values_are_compared_as_canonical_strings() -> None:
    assert [list_key(v) for v in (42, 42.0, -3.0, 0.5, 1e20, "c42", True, None)] == [
        "42",
        "42",
        "-3",
        "0.5",
        "100000000000000000000",
        "c42",
        None,
        None,
    ]


def test_list_lookups_are_known_before_lists_are_fetched() -> None:
    rule = compile_expression(
        "customer_id in @watchlist and (lower(email) in @emails or amount * 2 not in @amounts)"
        " or metadata.code in @codes or device_id in @devices or customer.nb_tx_1d > 5",
        SCHEMA,
    )
    context = MappingContext(TRANSACTION | {"metadata.code": 7})
    assert rule.list_lookups(context) == {
        ("watchlist", "c42"),
        ("emails", "jane.doe@example.com"),
        ("amounts", "2500"),
        ("codes", "7"),
    }
    assert rule.list_names == frozenset({"watchlist", "emails", "amounts", "codes", "devices"})


def test_identifiers_lists_what_the_expression_reads() -> None:
    rule = compile_expression(
        "customer.nb_tx_1d > 5 and lower(email) in @l or metadata.x is null or amount > 1",
        SCHEMA,
    )
    assert rule.identifiers == frozenset({"customer.nb_tx_1d", "email", "metadata.x", "amount"})
    assert rule.text.startswith("customer.nb_tx_1d")
    assert compile_expression("true", SCHEMA).identifiers == frozenset()


@pytest.mark.parametrize(
    ("text", "explained"),
    [
        ("amount > 1000", "amount (1250.00) > 1000"),
        ("customer_id in @watchlist", "customer_id (c42) in @watchlist"),
        (
            "customer.nb_tx_1d > 5 and amount > 50",
            "customer.nb_tx_1d (7) > 5 and amount (1250.00) > 50",
        ),
        ("score>0.8", "score (0.8049) > 0.8"),
        ("device_id is null", "device_id (null) is null"),
        (
            "(amount / customer.avg_amount_30d) > 10 or not(country in ['FR','BE'])",
            "amount (1250.00) / customer.avg_amount_30d (80.00) > 10 or "
            "not country (FR) in ['FR', 'BE']",
        ),
        ('lower(email) == "jane"', 'lower(email (Jane.Doe@Example.com)) == "jane"'),
        ("hour(timestamp) < 6", "hour(timestamp (2024-05-07T03:30:00+00:00)) < 6"),
        ("metadata.vip", "metadata.vip (true)"),
        ("metadata.note is not null", "metadata.note (" + "x" * 61 + "...) is not null"),
    ],
)
def test_explain_shows_each_identifier_with_its_value(text: str, explained: str) -> None:
    context = MappingContext(TRANSACTION | {"metadata.vip": True, "metadata.note": "x" * 100})
    assert compile_expression(text, SCHEMA).explain(context) == explained


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("amount + 1 > 5", {"amount": "12"}),
        ("lower(email) == 'x'", {"email": 12}),
        ("hour(timestamp) > 5", {"timestamp": "2024-05-01T10:00:00"}),
        ("timestamp > timestamp", {"timestamp": {}}),
    ],
)
def test_context_breaking_the_schema_raises_evaluation_error(
    text: str, values: dict[str, Any]
) -> None:
    rule = compile_expression(text, SCHEMA)
    with pytest.raises(RuleEvaluationError, match="breaks the schema"):
        rule.evaluate(MappingContext(values))


def test_list_lookup_on_a_context_breaking_the_schema_raises_evaluation_error() -> None:
    rule = compile_expression("lower(email) in @blocked", SCHEMA)
    with pytest.raises(RuleEvaluationError):
        rule.list_lookups(MappingContext({"email": 12}))


def test_compiled_expression_is_reusable_across_contexts() -> None:
    rule = compile_expression("amount > 100 and country == 'FR'", SCHEMA)
    results = [
        rule.evaluate(MappingContext({"amount": amount, "country": country}))
        for amount, country in ((150, "FR"), (50, "FR"), (150, "DE"), (150, None))
    ]
    assert results == [True, False, False, None]
    assert repr(rule) == "CompiledExpression(\"amount > 100 and country == 'FR'\")"
