"""Lexer and parser of the rule language: precedence, literals, syntax errors."""

from __future__ import annotations

import pytest

from chalicelib.rules import RuleLimitError, RuleSyntaxError
from chalicelib.rules.lexer import TokenKind, tokenize
from chalicelib.rules.nodes import Literal, dump
from chalicelib.rules.parser import parse
from chalicelib.rules.render import render


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("a or b and c", "(or a (and b c))"),
        ("a and b or c", "(or (and a b) c)"),
        ("not a and b", "(and (not a) b)"),
        ("not not a", "(not (not a))"),
        ("not a == b", "(not (== a b))"),
        ("a == b and c != d", "(and (== a b) (!= c d))"),
        ("a + b * c", "(+ a (* b c))"),
        ("a * b + c", "(+ (* a b) c)"),
        ("a - b - c", "(- (- a b) c)"),
        ("a / b % c * d", "(* (% (/ a b) c) d)"),
        ("(a + b) * c", "(* (+ a b) c)"),
        ("-a * b", "(* (- a) b)"),
        ("-(a + b)", "(- (+ a b))"),
        ("a - -b", "(- a (- b))"),
        ("a + b > c * 2", "(> (+ a b) (* c 2))"),
        ("a < b or c >= d and e <= f", "(or (< a b) (and (>= c d) (<= e f)))"),
        ("a and b and c and d", "(and a b c d)"),
        ("a or b or c", "(or a b c)"),
        ("a and (b and c)", "(and a (and b c))"),
        ("x in [1, 2, 3]", "(in x [1 2 3])"),
        ("x not in ['a', \"b\"]", "(not in x ['a' \"b\"])"),
        ("x + 1 in [2, -3]", "(in (+ x 1) [2 -3])"),
        ("not x in @watchlist", "(not (in x @watchlist))"),
        ("x not in @watchlist", "(not in x @watchlist)"),
        (
            "customer_id in @watchlist and amount > 500",
            "(and (in customer_id @watchlist) (> amount 500))",
        ),
        ("x is null", "(is null x)"),
        ("x is not null or y", "(or (is not null x) y)"),
        ("a + b is null", "(is null (+ a b))"),
        ("lower(email) == 'x'", "(== (lower email) 'x')"),
        ("f()", "(f)"),
        ("f(a, g(b, c + 1), -2)", "(f a (g b (+ c 1)) -2)"),
        ("customer.nb_tx_1d > 5", "(> customer.nb_tx_1d 5)"),
        ("metadata.device.os == 'ios'", "(== metadata.device.os 'ios')"),
        ("true and not false", "(and true (not false))"),
        ("x == null", "(== x null)"),
        ("((((a))))", "a"),
        ("  a\n\tand\r\nb  ", "(and a b)"),
    ],
)
def test_parse_builds_tree_with_precedence(text: str, tree: str) -> None:
    assert dump(parse(text)) == tree


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0.0),
        ("42", 42.0),
        ("3.25", 3.25),
        ("1e3", 1000.0),
        ("2.5E-2", 0.025),
        ("1e+2", 100.0),
        ("-7", -7.0),
        ("- 7.5", -7.5),
        ("--7", 7.0),
        ("1000000000000000", 1e15),
        ("'it\\'s'", "it's"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'a\\\\b'", "a\\b"),
        ("'tab\\there\\nnext\\r'", "tab\there\nnext\r"),
        ("'\\u00e9t\\u00E9'", "été"),
        ("'été'", "été"),
        ('"it\'s"', "it's"),
        ("''", ""),
        ("true", True),
        ("false", False),
        ("null", None),
    ],
)
def test_literals_decode(text: str, value: object) -> None:
    node = parse(text)
    assert isinstance(node, Literal)
    assert node.value == value
    assert type(node.value) is type(value)


def test_tokens_carry_kind_text_and_position() -> None:
    tokens = tokenize("amount>=1e3 and @watchlist")
    assert [(t.kind, t.text, t.position) for t in tokens] == [
        (TokenKind.NAME, "amount", 0),
        (TokenKind.OPERATOR, ">=", 6),
        (TokenKind.NUMBER, "1e3", 8),
        (TokenKind.KEYWORD, "and", 12),
        (TokenKind.LIST, "@watchlist", 16),
        (TokenKind.END, "", 26),
    ]
    assert tokens[4].value == "watchlist"


def test_node_positions_point_at_principal_tokens() -> None:
    tree = parse("lower(email) in @l and amount > 5")
    assert tree.position == 19  # first 'and'
    membership, comparison = tree.children()
    assert membership.position == 13  # 'in'
    assert membership.children()[0].position == 0  # 'lower'
    assert comparison.position == 30  # '>'


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("(amount > 5", 11, "')'"),
        ("amount > (5 + (2)", 17, "')'"),
        ("lower(email", 11, "',' or ')'"),
        ("amount >", 8, "a value"),
        ("amount > 5 and", 14, "a value"),
        ("and amount > 5", 0, "a value"),
        ("amount > > 5", 9, "a value"),
        ("amount * / 2", 9, "a value"),
        ("", 0, "a value"),
        ("   ", 3, "a value"),
        ("amount 5", 7, "an operator or the end of the expression"),
        ("amount > 5)", 10, "an operator or the end of the expression"),
        ("a < b < c", 6, "'and' or 'or' between two comparisons"),
        ("a == b in [1]", 7, "'and' or 'or' between two comparisons"),
        ("a is b", 5, "'null' or 'not null' after 'is'"),
        ("a not b", 6, "'in' after 'not'"),
        ("a in b", 5, "'[' or '@list_name' after 'in'"),
        ("a in []", 6, "a number, a string, 'true' or 'false'"),
        ("a in [1, ]", 9, "a number, a string, 'true' or 'false'"),
        ("a in [b]", 6, "a number, a string, 'true' or 'false'"),
        ("a in [null]", 6, "a number, a string, 'true' or 'false'"),
        ("a in [1 2]", 8, "',' or ']'"),
        ("a in [1, 2", 10, "',' or ']'"),
        ("f(a,)", 4, "a value"),
        ("x in @", 6, "a list name after '@'"),
        ("x in @ watchlist", 6, "a list name after '@'"),
        ("x in @1abc", 6, "a list name after '@'"),
        ("x in @a.b", 7, "a list name without '.'"),
        ("'unterminated", 0, "a closing '"),
        ('amount == "abc', 10, 'a closing "'),
        ("'line\nbreak'", 5, "an escape such as \\n"),
        ("'bad \\q escape'", 5, "one of"),
        ("'bad \\u12 escape'", 5, "\\u and 4 hex digits"),
        ("'\\ud800'", 1, "\\u and 4 hex digits"),
        ("'trailing\\", 9, "one of"),
        ("amount = 5", 7, "'=='"),
        ("!flag", 0, "'!=' or 'not'"),
        ("a && b", 2, "'and'"),
        ("a || b", 2, "'or'"),
        ("amount > 5 ; drop", 11, "an operator, a name, a number"),
        ("amount > 5 # comment", 11, "an operator, a name, a number"),
        ("amount > $5", 9, "an operator, a name, a number"),
        ("amount > \uff15", 9, "an operator, a name, a number"),
        ("1.", 2, "a digit after '.'"),
        ("1.e5", 2, "a digit after '.'"),
        ("1e", 2, "a digit in the exponent"),
        ("1e+", 2, "a digit in the exponent"),
        ("12abc", 2, "an operator after a number"),
        ("1.5.3", 3, "an operator after a number"),
        (".5", 0, "an operator, a name, a number"),
        ("customer.", 9, "a name after '.'"),
        ("customer.1d", 9, "a name after '.'"),
        ("a AND b", 2, "'and'"),
        ("x IS NULL", 2, "'is'"),
        ("True", 0, "'true'"),
    ],
)
def test_syntax_error_carries_position_and_expected(
    text: str, position: int, expected: str
) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse(text)
    error = caught.value
    assert error.position == position, str(error)
    assert error.expected is not None
    assert error.expected.startswith(expected), str(error)


def test_unclosed_parenthesis_names_where_it_was_opened() -> None:
    with pytest.raises(RuleSyntaxError, match=r"unclosed '\(' opened at position 9"):
        parse("amount > (5 + 2")


def test_syntax_error_reports_line_and_column() -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse("amount > 5\nand\n  country == ")
    assert (caught.value.position, caught.value.line, caught.value.column) == (28, 3, 14)


def test_syntax_error_to_dict_is_the_http_body() -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse("(amount > 5")
    assert caught.value.to_dict() == {
        "error": "rule_syntax_error",
        "message": "unclosed '(' opened at position 0: expected ')' at position 11 "
        "(line 1, column 12)",
        "position": 11,
        "line": 1,
        "column": 12,
        "expected": "')'",
    }


def test_long_token_in_message_is_shortened() -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse("amount '" + "x" * 100 + "'")
    assert len(caught.value.message) < 50


@pytest.mark.parametrize(
    "text",
    [
        "a or b and not c",
        "(a or b) and not (c or d)",
        "not (a and b)",
        "a and (b and c)",
        "a - (b - c)",
        "(a - b) - c",
        "a / (b * c)",
        "-(a + b) * -2.5",
        "a - -1e3",
        "x not in [1, -2.5, 3]",
        "(x + 1) * 2 in @list_a",
        "f(a, b + 1) is not null",
        "-x is null",
        "not x is null",
        "'it\\'s' == \"q\\\"uote\"",
    ],
)
def test_render_parses_back_to_the_same_tree(text: str) -> None:
    tree = parse(text)
    assert dump(parse(render(tree))) == dump(tree)


def test_render_is_canonical() -> None:
    assert render(parse("(a+b)*c>=1e3 and not(x in [ 'FR','DE' ])")) == (
        "(a + b) * c >= 1e3 and not x in ['FR', 'DE']"
    )


def test_deep_nesting_is_a_limit_error_not_a_recursion_error() -> None:
    with pytest.raises(RuleLimitError) as caught:
        parse("(" * 1999)
    assert caught.value.position == 32
    assert caught.value.expected == "at most 32 levels of nesting"
