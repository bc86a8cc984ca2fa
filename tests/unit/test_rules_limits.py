"""Resource limits: oversized or pathological expressions fail fast with RuleLimitError."""

from __future__ import annotations

import time

import pytest

from chalicelib.rules import (
    MappingContext,
    RuleLimitError,
    RuleTypeError,
    Schema,
    compile_expression,
    limits,
)
from chalicelib.rules.lexer import _Lexer
from chalicelib.rules.parser import _Parser
from chalicelib.rules.safe_regex import compile_pattern

SCHEMA = Schema.for_transaction([])


def limit_error(text: str) -> RuleLimitError:
    with pytest.raises(RuleLimitError) as caught:
        compile_expression(text, SCHEMA)
    return caught.value


def test_expression_length() -> None:
    error = limit_error("amount > 1 or " * 10_000 + "true")
    assert error.position == limits.MAX_EXPRESSION_LENGTH
    assert error.expected == "at most 2000 characters"
    compile_expression("amount > " + "1" * 10 + " " * (limits.MAX_EXPRESSION_LENGTH - 19), SCHEMA)


def test_100k_character_expression_is_rejected_quickly() -> None:
    started = time.perf_counter()
    limit_error("(" * 100_000)
    limit_error("x" * 100_000)
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize("opening", ["(", "not ", "-", "abs(", "-("])
def test_deep_nesting_stops_at_the_limit(opening: str) -> None:
    depth = limits.MAX_DEPTH + 1
    error = limit_error(opening * depth + "amount")
    assert error.expected == f"at most {limits.MAX_DEPTH} levels of nesting"
    assert error.position is not None
    assert error.position < len(opening) * depth


def test_ten_thousand_opening_parentheses_do_not_overflow_the_stack() -> None:
    assert limit_error("(" * 10_000).position == limits.MAX_EXPRESSION_LENGTH
    assert limit_error("(" * 1_999).position == limits.MAX_DEPTH
    # The parser counts nesting itself, whatever the length limit lets through.
    text = "(" * 10_000 + "amount" + ")" * 10_000
    with pytest.raises(RuleLimitError) as caught:
        _Parser(text, _Lexer(text).run()).expression()
    assert caught.value.position == limits.MAX_DEPTH


def test_nesting_at_the_limit_compiles() -> None:
    depth = limits.MAX_DEPTH - 2  # comparison and the whole expression take two levels
    rule = compile_expression("(" * depth + "amount" + ")" * depth + " > 1", SCHEMA)
    assert rule.evaluate(MappingContext({"amount": 2})) is True


def test_long_operator_chain_is_too_deep() -> None:
    error = limit_error("amount" + " + amount" * 40 + " > 1")
    assert error.expected == f"at most {limits.MAX_DEPTH} levels of nesting"


def test_long_and_chain_is_flat_so_it_fits() -> None:
    rule = compile_expression(" and ".join(["amount > 1"] * 100), SCHEMA)
    assert rule.evaluate(MappingContext({"amount": 2})) is True


def test_node_count() -> None:
    error = limit_error(" or ".join(["a>1"] * 200))
    assert error.expected == f"at most {limits.MAX_NODES} operands, operators and list items"
    assert error.position is not None


def test_huge_number_literal() -> None:
    assert limit_error("amount > 1e16").position == 9
    assert limit_error("amount > 1" + "0" * 400).position == 9
    assert limit_error("amount > 1e999999").position == 9
    assert limit_error("amount > -1e16").position == 10
    compile_expression("amount < 1e15 and amount > -1e15", SCHEMA)


def test_list_literal_size() -> None:
    items = ", ".join(str(i) for i in range(limits.MAX_LIST_ITEMS))
    compile_expression(f"amount in [{items}]", SCHEMA)
    error = limit_error(f"amount in [{items}, 100]")
    assert error.expected == f"at most {limits.MAX_LIST_ITEMS} items"
    assert error.position == len(f"amount in [{items}, ")


def test_ten_thousand_item_list_is_rejected() -> None:
    error = limit_error("amount in [" + ", ".join(["1"] * 10_000) + "]")
    assert error.position == limits.MAX_EXPRESSION_LENGTH
    error = limit_error("amount in [" + ",".join(["1"] * 500) + "]")
    assert error.expected == f"at most {limits.MAX_LIST_ITEMS} items"


def test_string_literal_length() -> None:
    compile_expression("email == '" + "x" * limits.MAX_STRING_LENGTH + "'", SCHEMA)
    error = limit_error("email == '" + "x" * (limits.MAX_STRING_LENGTH + 1) + "'")
    assert error.position == 9
    assert error.expected == f"at most {limits.MAX_STRING_LENGTH} characters"


def test_identifier_and_list_name_length() -> None:
    assert limit_error("a" * (limits.MAX_IDENTIFIER_LENGTH + 1) + " > 1").position == 0
    assert limit_error("email in @" + "l" * (limits.MAX_IDENTIFIER_LENGTH + 1)).position == 9
    with pytest.raises(RuleTypeError):  # within the limit, merely unknown
        compile_expression("a" * limits.MAX_IDENTIFIER_LENGTH + " > 1", SCHEMA)


@pytest.mark.parametrize(
    "pattern",
    [
        "(a+)+$",
        "(a*)*b",
        "(a+)*",
        "(x+x+)+y",
        "(a|aa)+$",
        "(?:a|b)*c",
        "(\\w+\\s?)*$",
        "(a)\\1",
        "(?P<x>a)(?P=x)",
        "(?=a)a",
        "(?!a)b",
        "(?<=a)b",
        "(?<!a)b",
        "(a)?(?(1)b|c)",
        "(?x)(a+) +",
        ".*.*.*x",
        "a*b*c*",
        "\\d+\\d+\\d+",
        "a?" * 20,
        "(a|b)(c|d)(e|f)(g|h)(i|j)(k|l)(m|n)(o|p)(q|r)(s|t)(u|v)(w|x)(y|z)(1|2)(3|4)(5|6)(7|8)",
        "a{1,1000}",
        "a{101}",
        "x" * (limits.MAX_REGEX_LENGTH + 1),
    ],
)
def test_dangerous_patterns_are_rejected(pattern: str) -> None:
    text = "matches(email, '" + pattern.replace("\\", "\\\\") + "')"
    error = limit_error(text)
    assert error.position == 15
    assert error.message.startswith("unsafe pattern")


@pytest.mark.parametrize(
    "pattern",
    [
        "^[a-z0-9._%+-]+@example\\.com$",
        "(?i)^test",
        "(ab)+c",
        "(?:foo|bar)\\.com$",
        "\\d{3}-\\d{4}",
        "(\\d{3})+",
        "^.*@.*$",
        "[^@]+@[^@]+",
        "colou?r",
        "(?P<user>[a-z]+)@",
        "(?i:abc)+",
        "a{2,5}b{0,3}c",
    ],
)
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    compile_pattern(pattern, position=0, text="")


@pytest.mark.parametrize("pattern", ["^.*.*x$", ".*.*x", "\\d+\\d+x", "[a-z]*[a-z]*!", "a+a+b"])
def test_worst_accepted_patterns_search_in_bounded_time(pattern: str) -> None:
    rule = compile_expression("matches(email, '" + pattern.replace("\\", "\\\\") + "')", SCHEMA)
    filler = "1" if "d" in pattern else "a"
    slowest = 0.0
    for length in (limits.MAX_REGEX_INPUT_LENGTH, 100_000):
        context = MappingContext({"email": filler * length})
        started = time.perf_counter()
        result = rule.evaluate(context)
        slowest = max(slowest, time.perf_counter() - started)
        assert result is (None if length > limits.MAX_REGEX_INPUT_LENGTH else False)
    assert slowest < 0.25


def test_long_input_to_string_functions_stays_fast() -> None:
    rule = compile_expression(
        "contains(lower(email), 'zz') or starts_with(email, 'b') or len(email) < 3", SCHEMA
    )
    started = time.perf_counter()
    assert rule.evaluate(MappingContext({"email": "a" * 1_000_000})) is False
    assert time.perf_counter() - started < 0.1
