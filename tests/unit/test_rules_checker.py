"""Static type checking of rule expressions: every error names the offending token."""

from __future__ import annotations

import re

import pytest

from chalicelib.rules import (
    Field,
    RuleLimitError,
    RuleSyntaxError,
    RuleTypeError,
    Schema,
    Type,
    compile_expression,
)
from chalicelib.rules.checker import check
from chalicelib.rules.nodes import dump
from chalicelib.rules.parser import parse

SCHEMA = Schema.for_transaction(
    ["customer_nb_tx_1d", "customer_avg_amount_30d", "terminal_risk_7d"]
)


def checked(text: str) -> str:
    return dump(check(parse(text), SCHEMA, text).root)


@pytest.mark.parametrize(
    ("text", "position", "expected", "actual"),
    [
        # The left operand sets the type the right one must have.
        ('amount > "abc"', 9, "number", "string"),
        ("country == 5", 11, "string", "number"),
        ("'FR' == country and amount == true", 30, "number", "boolean"),
        ("timestamp > 5", 12, "timestamp", "number"),
        ("true < false", 0, "number, string or timestamp", "boolean"),
        ("amount + 'x' > 1", 9, "number", "string"),
        ("'x' * 2 > 1", 0, "number", "string"),
        ("-country == 'x'", 1, "number", "string"),
        ("not amount", 4, "boolean", "number"),
        ("amount > 1 and country", 15, "boolean", "string"),
        ("amount or true", 0, "boolean", "number"),
        ("lower(amount) == 'x'", 6, "string", "number"),
        ("len(5) > 1", 4, "string", "number"),
        ("contains(email, 3)", 16, "string", "number"),
        ("hour(amount) > 3", 5, "timestamp", "number"),
        ("abs('x') > 1", 4, "number", "string"),
        ("max(amount, 'x') > 1", 12, "number", "string"),
        ("coalesce(amount, 'x') > 1", 17, "number", "string"),
        ("round(amount, 'x') > 1", 14, "number", "string"),
        ("amount in ['a', 'b']", 11, "number", "string"),
        ("country in ['FR', 2]", 18, "string", "number"),
        ("metadata.x in [1, 'b']", 18, "number", "string"),
        ("timestamp in [1]", 0, "number, string or boolean", "timestamp"),
        ("timestamp in @list", 0, "string or number", "timestamp"),
        ("amount", 0, "boolean", "number"),
        ("amount + 1", 7, "boolean", "number"),
        ("lower(email)", 0, "boolean", "string"),
        ("'yes'", 0, "boolean", "string"),
        ("coalesce(amount, 1)", 0, "boolean", "number"),
    ],
)
def test_type_error_points_at_offending_token(
    text: str, position: int, expected: str, actual: str
) -> None:
    with pytest.raises(RuleTypeError) as caught:
        compile_expression(text, SCHEMA)
    error = caught.value
    assert (error.position, error.expected, error.actual) == (position, expected, actual), str(
        error
    )


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("amount == null", 10, "comparing with null always gives null"),
        ("null != country", 0, "comparing with null always gives null"),
        ("amount + null > 1", 9, "null is always null as operand of '+'"),
        ("not null", 4, "null is always null as operand of 'not'"),
        ("null", 0, "null is always null as the expression"),
        ("lower(null) == 'x'", 6, "null is always null as argument 1 of lower()"),
        ("amont > 5", 0, "unknown identifier 'amont'; did you mean 'amount'?"),
        ("customer.nb_tx_1 > 5", 0, "did you mean 'customer.nb_tx_1d'?"),
        ("hour < 6", 0, "did you mean the function hour(...)?"),
        ("amount > 1 and zzz", 15, "unknown identifier 'zzz'"),
        ("metadata > 1", 0, "unknown identifier 'metadata'"),
        ("amount > 5 and foo(amount)", 15, "unknown function 'foo'"),
        ("lower(email, country) == 'x'", 0, "wrong number of arguments for lower()"),
        ("lower() == 'x'", 0, "wrong number of arguments for lower()"),
        ("max(amount) > 1", 0, "wrong number of arguments for max()"),
        ("round(amount, 1, 2) > 1", 0, "wrong number of arguments for round()"),
        ("matches(email, country)", 15, "the pattern of matches() must be written out"),
    ],
)
def test_type_error_messages(text: str, position: int, message: str) -> None:
    with pytest.raises(RuleTypeError, match=re.escape(message)) as caught:
        compile_expression(text, SCHEMA)
    assert caught.value.position == position


def test_arity_error_says_how_many_arguments() -> None:
    with pytest.raises(RuleTypeError) as caught:
        compile_expression("starts_with(email) ", SCHEMA)
    assert (caught.value.expected, caught.value.actual) == ("2 arguments", "1")
    with pytest.raises(RuleTypeError) as caught:
        compile_expression("round(amount, 1, 2) > 1", SCHEMA)
    assert caught.value.expected == "1 to 2 arguments"
    with pytest.raises(RuleTypeError) as caught:
        compile_expression("min(1) > 1", SCHEMA)
    assert caught.value.expected == "at least 2 arguments"


def test_unknown_function_lists_the_functions() -> None:
    with pytest.raises(RuleTypeError) as caught:
        compile_expression("sqrt(amount) > 1", SCHEMA)
    assert caught.value.expected is not None
    assert "abs, coalesce, contains" in caught.value.expected


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("customer.nb_tx_1d in @watchlist", 0),
        ("score in @scores", 0),
        ("lower(email) in @a or amount + customer.avg_amount_30d in @b", 31),
        ("coalesce(customer_id, metadata.x, country) not in @l and terminal.risk_7d > 0", -1),
    ],
)
def test_list_lookup_may_use_only_transaction_fields(text: str, position: int) -> None:
    if position < 0:
        compile_expression(text, SCHEMA)
        return
    with pytest.raises(RuleTypeError) as caught:
        compile_expression(text, SCHEMA)
    assert caught.value.position == position
    assert caught.value.expected == "transaction fields"
    assert caught.value.actual == "a feature or score"


def test_any_values_get_runtime_guards() -> None:
    assert checked("metadata.tries > 3") == "(> (as-number metadata.tries) 3)"
    assert checked("'web' == metadata.channel") == "(== 'web' (as-string metadata.channel))"
    assert checked("metadata.flag") == "(as-boolean metadata.flag)"
    assert checked("not metadata.flag") == "(not (as-boolean metadata.flag))"
    assert checked("metadata.a == metadata.b") == "(== metadata.a metadata.b)"
    assert checked("metadata.a in ['x']") == "(in (as-string metadata.a) ['x'])"
    assert checked("metadata.a in @l") == "(in metadata.a @l)"
    assert checked("metadata.a is null") == "(is null metadata.a)"
    assert checked("coalesce(metadata.a, 0) > 1") == "(> (coalesce (as-number metadata.a) 0) 1)"
    assert checked("lower(metadata.a) == 'x'") == "(== (lower (as-string metadata.a)) 'x')"


def test_well_typed_expressions_compile() -> None:
    for text in (
        "amount > 500 and customer.nb_tx_1d >= 3",
        "timestamp < timestamp",
        "hour(timestamp) < 6 or weekday(timestamp) in [5, 6]",
        "country in ['FR', 'DE'] or country is null",
        "coalesce(metadata.attempts, 0) + 1 > 3",
        "coalesce(metadata.a, metadata.b) is null",
        "coalesce(null, country) == 'FR'",
        "round(amount / 3, 2) == 33.33",
        "matches(email, '^[a-z]+@example\\\\.com$')",
        "metadata.vip == true",
        "true",
        "not (amount > 5) != false",
    ):
        compile_expression(text, SCHEMA)


def test_matches_pattern_is_screened_at_compile_time() -> None:
    with pytest.raises(RuleLimitError) as unsafe:
        compile_expression("amount > 1 and matches(email, '(a+)+$')", SCHEMA)
    assert unsafe.value.position == 30
    with pytest.raises(RuleSyntaxError) as invalid:
        compile_expression("matches(email, '[unclosed')", SCHEMA)
    assert invalid.value.position == 15
    with pytest.raises(RuleSyntaxError, match="nested set"):  # a FutureWarning of re
        compile_expression("matches(email, '[[a]')", SCHEMA)


def test_custom_schema_types_and_wildcards() -> None:
    schema = Schema(
        {
            "flagged": Field(Type.BOOL),
            "device.*": Field(Type.STRING, from_transaction=True),
            "device.age_days": Field(Type.NUMBER),
        }
    )
    compile_expression("flagged and device.os == 'ios' and device.age_days < 2", schema)
    with pytest.raises(RuleTypeError) as caught:
        compile_expression("device.os > 1", schema)
    assert caught.value.position == 12
    with pytest.raises(RuleTypeError):
        compile_expression("device.age_days in @new_devices", schema)
    compile_expression("device.os in @bad_os", schema)


def test_type_error_to_dict_carries_expected_and_actual() -> None:
    with pytest.raises(RuleTypeError) as caught:
        compile_expression('amount > "abc"', SCHEMA)
    body = caught.value.to_dict()
    assert body["error"] == "rule_type_error"
    assert (body["position"], body["expected"], body["actual"]) == (9, "number", "string")
