"""Property-based tests: the compiler never fails unexpectedly, evaluation matches an
independent reference, and rendering parses back to the same tree."""

from __future__ import annotations

import math
from datetime import UTC
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.rules import (
    CompiledExpression,
    MappingContext,
    RuleError,
    Schema,
    compile_expression,
)
from chalicelib.rules.nodes import dump
from chalicelib.rules.parser import parse
from chalicelib.rules.render import render

SCHEMA = Schema.for_transaction(["customer_nb_tx_1d", "terminal_risk_7d"])
FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKENS = (
    *"()[],+-*/%<>",
    *("==", "!=", "<=", ">=", "and", "or", "not", "in", "is", "null", "true", "false"),
    *("amount", "country", "email", "timestamp", "score", "customer_id", "card_id"),
    *("customer.nb_tx_1d", "terminal.risk_7d", "metadata.x", "metadata.y", "unknown"),
    *("lower", "upper", "len", "contains", "starts_with", "matches", "abs", "min", "max"),
    *("round", "coalesce", "hour", "weekday", "nope"),
    *("@watchlist", "@", "@x.y", "0", "2", "1.5", "-3", "1e3", "1e16", "7e", "1."),
    *("'FR'", '"fr"', "'a\\'b'", "'\\q'", "'(a+)+'", "'^[a-z]+$'", "'.*.*'", "''"),
    *("'", '"', "\\", ".", "=", "!", "&&", "||", "$", "é", "\n", "\t", "AND", "True"),
)
token_soups = st.lists(st.sampled_from(TOKENS), max_size=30).map(" ".join) | st.lists(
    st.sampled_from(TOKENS), max_size=30
).map("".join)
OPERANDS = (
    *("amount", "country", "email", "timestamp", "score", "customer_id", "customer.nb_tx_1d"),
    *("metadata.x", "metadata.y", "1", "-2.5", "0", "'FR'", "''", "true", "false", "null"),
    *("lower(email)", "len(country)", "hour(timestamp)", "coalesce(metadata.x, 1)"),
    *("coalesce(metadata.x, metadata.y)", "round(amount, metadata.x)", "amount / 0"),
    *("max(amount, score, 3)", "matches(email, '^[a-z]+$')", "-metadata.x", "not metadata.y"),
    *("contains(email, metadata.x)", "amount % score", "(amount > 1)"),
)
CLAUSE_OPERATORS = (
    *("==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "and", "or"),
    *("in [1, 2]", "not in ['FR', 'DE']", "in [true]", "in @watchlist", "not in @watchlist"),
    *("is null", "is not null"),
)
clauses = st.builds(
    lambda left, op, right: f"{left} {op} {right}" if op[0] in "=!<>+-*/%ao" else f"{left} {op}",
    st.sampled_from(OPERANDS),
    st.sampled_from(CLAUSE_OPERATORS),
    st.sampled_from(OPERANDS),
)
clause_soups = st.lists(clauses, min_size=1, max_size=3).flatmap(
    lambda parts: st.sampled_from([" and ", " or ", " + "]).map(lambda glue: glue.join(parts))
)
token_soups = token_soups | clause_soups
any_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
numbers = st.none() | st.integers(-(10**6), 10**6) | st.floats(-1e6, 1e6)
texts = st.none() | st.text(max_size=8)


@st.composite
def contexts(draw: st.DrawFn) -> MappingContext:
    """Values of the types the schema promises (any type for metadata), and lists."""
    values = {
        "amount": draw(numbers),
        "score": draw(numbers),
        "customer.nb_tx_1d": draw(numbers),
        "terminal.risk_7d": draw(numbers),
        "country": draw(texts),
        "email": draw(texts),
        "customer_id": draw(texts),
        "card_id": draw(texts),
        "timestamp": draw(st.none() | st.datetimes(timezones=st.just(UTC))),
        "metadata.x": draw(any_values),
        "metadata.y": draw(any_values),
    }
    watchlist = draw(st.sets(st.text(max_size=3), max_size=3))
    return MappingContext(values, {"watchlist": watchlist})


def compile_or_rule_error(text: str) -> CompiledExpression | None:
    """The compiled expression, or ``None`` when it raised ``RuleError`` (and only that)."""
    try:
        return compile_expression(text, SCHEMA)
    except RuleError as error:
        assert error.position is None or 0 <= error.position <= len(text)
        assert isinstance(error.to_dict(), dict)
        return None


@FAST
@given(st.text(max_size=60))
def test_compiler_only_raises_rule_errors_on_random_text(text: str) -> None:
    compile_or_rule_error(text)


@FAST
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60))
def test_compiler_only_raises_rule_errors_on_random_printable_text(text: str) -> None:
    compile_or_rule_error(text)


@settings(max_examples=1000, deadline=None)
@given(token_soups, contexts())
def test_compiler_only_raises_rule_errors_on_token_soup(text: str, context: Any) -> None:
    compiled = compile_or_rule_error(text)
    if compiled is not None:
        assert compiled.evaluate(context) in (True, False, None)
        assert isinstance(compiled.explain(context), str)
        for list_name, value in compiled.list_lookups(context):
            assert list_name in compiled.list_names
            assert isinstance(value, str)


# Reference test: generated expressions, evaluated by the rule language and by a small
# independent evaluator over the same generated tree.

NUMBER_NAMES = ("amount", "score", "customer.nb_tx_1d")
Tree = tuple[Any, ...]


def number_trees(depth: int, names: tuple[str, ...] = NUMBER_NAMES) -> st.SearchStrategy[Tree]:
    leaves = st.one_of(
        st.tuples(st.just("num"), st.integers(0, 50) | st.sampled_from([0.5, 2.25, 1e3])),
        st.tuples(st.just("name"), st.sampled_from(names)),
    )
    if depth == 0:
        return leaves
    smaller = number_trees(depth - 1, names)
    return st.one_of(
        leaves,
        st.tuples(st.sampled_from("+-*/%"), smaller, smaller),
        st.tuples(st.just("neg"), smaller),
        st.tuples(st.just("coalesce"), smaller, smaller),
    )


def condition_trees(depth: int, names: tuple[str, ...] = NUMBER_NAMES) -> st.SearchStrategy[Tree]:
    operators = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
    comparisons = st.one_of(
        st.tuples(operators, number_trees(2, names), number_trees(2, names)),
        st.tuples(st.just("in"), number_trees(1, names), st.lists(st.integers(0, 5), min_size=1)),
        st.tuples(st.just("is null"), number_trees(1, names)),
        st.tuples(st.just("bool"), st.booleans()),
    )
    if depth == 0:
        return comparisons
    smaller = condition_trees(depth - 1, names)
    return st.one_of(
        comparisons,
        st.tuples(st.sampled_from(["and", "or"]), smaller, smaller),
        st.tuples(st.just("not"), smaller),
    )


def to_text(tree: Tree) -> str:
    """Fully parenthesised text of a generated tree."""
    kind = tree[0]
    if kind == "num":
        return repr(tree[1])
    if kind == "name":
        return tree[1]
    if kind == "bool":
        return "true" if tree[1] else "false"
    if kind == "neg":
        return f"-({to_text(tree[1])})"
    if kind == "not":
        return f"not ({to_text(tree[1])})"
    if kind == "coalesce":
        return f"coalesce({to_text(tree[1])}, {to_text(tree[2])})"
    if kind == "in":
        return f"({to_text(tree[1])}) in [{', '.join(map(str, tree[2]))}]"
    if kind == "is null":
        return f"({to_text(tree[1])}) is null"
    return f"({to_text(tree[1])}) {kind} ({to_text(tree[2])})"


def reference(tree: Tree, values: dict[str, Any]) -> Any:
    """Independent evaluation with the documented null semantics."""
    kind = tree[0]
    if kind == "num":
        return float(tree[1])
    if kind == "name":
        return values.get(tree[1])
    if kind == "bool":
        return tree[1]
    if kind == "coalesce":
        first = reference(tree[1], values)
        return first if first is not None else reference(tree[2], values)
    if kind == "is null":
        return reference(tree[1], values) is None
    if kind in ("and", "or", "not"):
        return _logic(kind, [reference(child, values) for child in tree[1:]])
    operands = [reference(child, values) for child in tree[1:] if not isinstance(child, list)]
    if any(operand is None for operand in operands):
        return None
    if kind == "neg":
        return -operands[0]
    if kind == "in":
        return operands[0] in [float(item) for item in tree[2]]
    left, right = operands
    if kind in ("/", "%") and right == 0:
        return None
    result = {
        "+": lambda: left + right,
        "-": lambda: left - right,
        "*": lambda: left * right,
        "/": lambda: left / right,
        "%": lambda: left % right,
        "==": lambda: left == right,
        "!=": lambda: left != right,
        "<": lambda: left < right,
        "<=": lambda: left <= right,
        ">": lambda: left > right,
        ">=": lambda: left >= right,
    }[kind]()
    if isinstance(result, float) and not math.isfinite(result):
        return None
    return result


def _logic(kind: str, operands: list[bool | None]) -> bool | None:
    if kind == "not":
        return None if operands[0] is None else not operands[0]
    decisive = kind == "or"  # the value that settles the result
    if decisive in operands:
        return decisive
    return None if None in operands else not decisive


reference_values = st.fixed_dictionaries(
    {name: st.none() | st.integers(-5, 5) | st.floats(-1e3, 1e3) for name in NUMBER_NAMES}
)


@settings(max_examples=600, deadline=None)
@given(condition_trees(3), reference_values)
def test_evaluation_matches_reference(tree: Tree, values: dict[str, Any]) -> None:
    text = to_text(tree)
    try:
        compiled = compile_expression(text, SCHEMA)
    except RuleError as error:  # only the size limits may refuse a generated tree
        assert error.code == "rule_limit_error", str(error)
        return
    assert compiled.evaluate(MappingContext(values)) is reference(tree, values), text


@FAST
@given(condition_trees(3))
def test_render_parses_back_to_the_same_tree(tree: Tree) -> None:
    try:
        parsed = parse(to_text(tree))
    except RuleError:
        return
    assert dump(parse(render(parsed))) == dump(parsed)


@FAST
@given(condition_trees(2), reference_values)
def test_explain_shows_every_identifier_value(tree: Tree, values: dict[str, Any]) -> None:
    compiled = compile_expression(to_text(tree), SCHEMA)
    explained = compiled.explain(MappingContext(values))
    for name in compiled.identifiers:
        assert f"{name} (" in explained


@FAST
@given(condition_trees(2, (*NUMBER_NAMES, "metadata.x", "metadata.y")), contexts())
def test_any_values_of_every_type_never_break_evaluation(tree: Tree, context: Any) -> None:
    compiled = compile_expression(to_text(tree), SCHEMA)
    assert compiled.evaluate(context) in (True, False, None)
