"""Recursive-descent parser: expression text to a syntax tree (see docs/rules.md).

Precedence, loosest first: ``or``, ``and``, ``not``, comparisons / ``in`` / ``is``
(which do not chain), ``+ -``, ``* / %``, unary ``-``, calls and primaries. Binary
operators associate to the left; chains of ``and`` (or of ``or``) become one node.

Nesting is counted while parsing, and the tree's depth and size are checked right after,
so that no input can exhaust Python's stack or make the later passes slow.

>>> from chalicelib.rules.nodes import dump
>>> dump(parse("customer_id in @watchlist and amount > 2 * -250"))
'(and (in customer_id @watchlist) (> amount (* 2 -250)))'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from chalicelib.rules.errors import RuleLimitError, RuleSyntaxError
from chalicelib.rules.lexer import Token, TokenKind, tokenize
from chalicelib.rules.limits import MAX_DEPTH, MAX_LIST_ITEMS, MAX_NODES
from chalicelib.rules.nodes import (
    Arithmetic,
    Call,
    Comparison,
    InList,
    InNamedList,
    IsNull,
    Literal,
    Logical,
    Name,
    Negate,
    Node,
    Not,
    walk,
)

COMPARISON_OPERATORS = frozenset(("==", "!=", "<", "<=", ">", ">="))
ADDITIVE_OPERATORS = frozenset(("+", "-"))
MULTIPLICATIVE_OPERATORS = frozenset(("*", "/", "%"))
KEYWORD_LITERALS = {"true": True, "false": False, "null": None}

EXPECTED_OPERAND = "a value: a number, a string, a name, a call, 'true', 'false', 'null' or '('"
EXPECTED_OPERATOR = "an operator or the end of the expression"
EXPECTED_LIST_ITEM = "a number, a string, 'true' or 'false'"
MAX_SHOWN_TOKEN = 24


def parse(text: str) -> Node:
    """Parse ``text`` into a syntax tree.

    Raises
    ------
    RuleSyntaxError
        The text is not in the grammar; ``position`` is where the parser stopped.
    RuleLimitError
        The text, the nesting, the tree or a list literal exceeds its limit.
    """
    root = _Parser(text, tokenize(text)).expression()
    _check_size(root, text)
    return root


def _check_size(root: Node, text: str) -> None:
    for count, (node, depth) in enumerate(walk(root), start=1):
        if depth > MAX_DEPTH:
            raise RuleLimitError(
                "expression nested too deeply",
                position=node.position,
                expected=f"at most {MAX_DEPTH} levels of nesting",
                text=text,
            )
        if count > MAX_NODES:
            raise RuleLimitError(
                "expression too large",
                position=node.position,
                expected=f"at most {MAX_NODES} operands, operators and list items",
                text=text,
            )


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    # Token helpers -------------------------------------------------------------------

    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not TokenKind.END:
            self.index += 1
        return token

    def at(self, text: str, offset: int = 0) -> bool:
        """True when the token at ``offset`` is the operator or keyword ``text``."""
        token = self.peek(offset)
        return token.text == text and token.kind in (TokenKind.OPERATOR, TokenKind.KEYWORD)

    def accept(self, text: str) -> bool:
        if self.at(text):
            self.advance()
            return True
        return False

    def error(self, token: Token, expected: str, message: str | None = None) -> RuleSyntaxError:
        if message is None:
            message = (
                "unexpected end of expression"
                if token.kind is TokenKind.END
                else f"unexpected {_shown(token)}"
            )
        return RuleSyntaxError(message, position=token.position, expected=expected, text=self.text)

    def expect_closing(self, closing: str, opening: Token, expected: str) -> None:
        if self.accept(closing):
            return
        token = self.peek()
        message = None
        if token.kind is TokenKind.END:
            message = f"unclosed '{opening.text}' opened at position {opening.position}"
        raise self.error(token, expected, message)

    @contextmanager
    def nested(self, token: Token) -> Iterator[None]:
        """Count one level of nesting while parsing the operand that follows ``token``."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RuleLimitError(
                "expression nested too deeply",
                position=token.position,
                expected=f"at most {MAX_DEPTH} levels of nesting",
                text=self.text,
            )
        try:
            yield
        finally:
            self.depth -= 1

    # Grammar -------------------------------------------------------------------------

    def expression(self) -> Node:
        node = self.or_expr()
        token = self.peek()
        if token.kind is not TokenKind.END:
            message = "unmatched ')'" if self.at(")") else None
            raise self.error(token, EXPECTED_OPERATOR, message)
        return node

    def or_expr(self) -> Node:
        return self.logical("or", self.and_expr)

    def and_expr(self) -> Node:
        return self.logical("and", self.not_expr)

    def logical(self, op: str, operand: Callable[[], Node]) -> Node:
        first = operand()
        if not self.at(op):
            return first
        position = self.peek().position
        operands = [first]
        while self.accept(op):
            operands.append(operand())
        return Logical(position, op, tuple(operands))

    def not_expr(self) -> Node:
        if not self.at("not"):
            return self.comparison()
        token = self.advance()
        with self.nested(token):
            return Not(token.position, self.not_expr())

    def comparison(self) -> Node:
        left = self.additive()
        token = self.peek()
        node: Node
        if token.kind is TokenKind.OPERATOR and token.text in COMPARISON_OPERATORS:
            self.advance()
            node = Comparison(token.position, token.text, left, self.additive())
        elif self.at("in") or self.at("not"):
            node = self.membership(left)
        elif self.at("is"):
            self.advance()
            negated = self.accept("not")
            if not self.accept("null"):
                raise self.error(self.peek(), "'null' or 'not null' after 'is'")
            node = IsNull(token.position, left, negated)
        else:
            return left
        follow = self.peek()
        chained = follow.kind is TokenKind.OPERATOR and follow.text in COMPARISON_OPERATORS
        if chained or self.at("in") or self.at("is") or (self.at("not") and self.at("in", 1)):
            raise self.error(
                follow, "'and' or 'or' between two comparisons", "comparisons do not chain"
            )
        return node

    def membership(self, left: Node) -> Node:
        operator = self.advance()
        negated = operator.text == "not"
        if negated and not self.accept("in"):
            raise self.error(self.peek(), "'in' after 'not'")
        token = self.peek()
        if token.kind is TokenKind.LIST:
            self.advance()
            return InNamedList(operator.position, left, token.value, negated)
        if self.at("["):
            return InList(operator.position, left, self.list_items(), negated)
        raise self.error(token, "'[' or '@list_name' after 'in'")

    def list_items(self) -> tuple[Literal, ...]:
        opening = self.advance()
        items: list[Literal] = []
        while True:
            item = self.list_item()
            items.append(item)
            if len(items) > MAX_LIST_ITEMS:
                raise RuleLimitError(
                    "list too long",
                    position=item.position,
                    expected=f"at most {MAX_LIST_ITEMS} items",
                    text=self.text,
                )
            if not self.accept(","):
                self.expect_closing("]", opening, "',' or ']'")
                return tuple(items)

    def list_item(self) -> Literal:
        token = self.peek()
        if self.at("-") and self.peek(1).kind is TokenKind.NUMBER:
            self.advance()
            number = self.advance()
            return Literal(token.position, -number.value, "-" + number.text)
        if (
            token.kind in (TokenKind.NUMBER, TokenKind.STRING)
            or self.at("true")
            or self.at("false")
        ):
            return self.literal(self.advance())
        message = "null cannot be a list item (use 'is null')" if self.at("null") else None
        raise self.error(token, EXPECTED_LIST_ITEM, message)

    def additive(self) -> Node:
        return self.binary(ADDITIVE_OPERATORS, self.multiplicative)

    def multiplicative(self) -> Node:
        return self.binary(MULTIPLICATIVE_OPERATORS, self.unary)

    def binary(self, operators: frozenset[str], operand: Callable[[], Node]) -> Node:
        left = operand()
        while (token := self.peek()).kind is TokenKind.OPERATOR and token.text in operators:
            self.advance()
            left = Arithmetic(token.position, token.text, left, operand())
        return left

    def unary(self) -> Node:
        if not self.at("-"):
            return self.primary()
        token = self.advance()
        with self.nested(token):
            operand = self.unary()
        if isinstance(operand, Literal) and type(operand.value) is float:
            raw = operand.raw[1:] if operand.raw.startswith("-") else "-" + operand.raw
            return Literal(token.position, -operand.value, raw)
        return Negate(token.position, operand)

    def primary(self) -> Node:
        token = self.peek()
        if token.kind in (TokenKind.NUMBER, TokenKind.STRING) or (
            token.kind is TokenKind.KEYWORD and token.text in KEYWORD_LITERALS
        ):
            return self.literal(self.advance())
        if token.kind is TokenKind.NAME:
            self.advance()
            if self.at("("):
                return self.call(token)
            return Name(token.position, token.value)
        if self.at("("):
            self.advance()
            with self.nested(token):
                inner = self.or_expr()
            self.expect_closing(")", token, "')'")
            return inner
        raise self.error(token, EXPECTED_OPERAND)

    def literal(self, token: Token) -> Literal:
        value = KEYWORD_LITERALS[token.text] if token.kind is TokenKind.KEYWORD else token.value
        return Literal(token.position, value, token.text)

    def call(self, name: Token) -> Call:
        opening = self.advance()
        args: list[Node] = []
        with self.nested(name):
            if not self.accept(")"):
                while True:
                    args.append(self.or_expr())
                    if not self.accept(","):
                        self.expect_closing(")", opening, "',' or ')'")
                        break
        return Call(name.position, name.value, tuple(args))


def _shown(token: Token) -> str:
    text = token.text
    if len(text) > MAX_SHOWN_TOKEN:
        text = text[: MAX_SHOWN_TOKEN - 3] + "..."
    return repr(text)
