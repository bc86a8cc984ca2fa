"""Rendering a tree back to text, optionally with the value each identifier saw.

Operators are spaced, literals keep their source spelling, and parentheses appear only
where precedence needs them, so ``render`` is a canonical form that parses back to the
same tree.

>>> from chalicelib.rules.parser import parse
>>> render(parse("(a+b)*c>=1e3 and not(x in [ 'FR','DE' ])"))
"(a + b) * c >= 1e3 and not x in ['FR', 'DE']"
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from chalicelib.rules.limits import MAX_EXPLAIN_VALUE_LENGTH
from chalicelib.rules.nodes import (
    Arithmetic,
    Call,
    Comparison,
    Guard,
    InList,
    InNamedList,
    IsNull,
    Literal,
    Logical,
    Name,
    Negate,
    Node,
    Not,
)

OR, AND, NOT, COMPARISON, ADDITIVE, MULTIPLICATIVE, UNARY, PRIMARY = range(1, 9)
LEVELS = {
    "or": OR,
    "and": AND,
    "+": ADDITIVE,
    "-": ADDITIVE,
    "*": MULTIPLICATIVE,
    "/": MULTIPLICATIVE,
    "%": MULTIPLICATIVE,
}


def render(node: Node, show_name: Callable[[Name], str] = lambda name: name.name) -> str:
    """``node`` as text; ``show_name`` spells each identifier (by default, its name)."""
    return _render(node, show_name)[0]


def format_value(value: Any) -> str:
    """A value as ``explain`` shows it: numbers readable, long text cut.

    >>> format_value(1250.0), format_value(7), format_value(0.8049), format_value(None)
    ('1250.00', '7', '0.8049', 'null')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        number = float(value)
        return f"{number:.2f}" if abs(number) >= 1 or number == 0 else f"{number:.4g}"
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if len(text) > MAX_EXPLAIN_VALUE_LENGTH:
        return text[: MAX_EXPLAIN_VALUE_LENGTH - 3] + "..."
    return text


def _render(node: Node, show_name: Callable[[Name], str]) -> tuple[str, int]:
    """Text of ``node`` and its precedence level."""

    def operand(child: Node, level: int) -> str:
        text, precedence = _render(child, show_name)
        return text if precedence >= level else f"({text})"

    match node:
        case Literal(value=value, raw=raw):
            negative = isinstance(value, float) and raw.startswith("-")
            return raw, UNARY if negative else PRIMARY
        case Name():
            return show_name(node), PRIMARY
        case Guard(operand=child):
            return _render(child, show_name)
        case Negate(operand=child):
            return "-" + operand(child, UNARY), UNARY
        case Not(operand=child):
            return "not " + operand(child, NOT), NOT
        case Arithmetic(op=op, left=left, right=right):
            level = LEVELS[op]
            return f"{operand(left, level)} {op} {operand(right, level + 1)}", level
        case Comparison(op=op, left=left, right=right):
            return f"{operand(left, ADDITIVE)} {op} {operand(right, ADDITIVE)}", COMPARISON
        case Logical(op=op, operands=operands):
            level = LEVELS[op]
            return f" {op} ".join(operand(child, level + 1) for child in operands), level
        case InList(operand=child, items=items, negated=negated):
            listed = ", ".join(item.raw for item in items)
            keyword = "not in" if negated else "in"
            return f"{operand(child, ADDITIVE)} {keyword} [{listed}]", COMPARISON
        case InNamedList(operand=child, list_name=list_name, negated=negated):
            keyword = "not in" if negated else "in"
            return f"{operand(child, ADDITIVE)} {keyword} @{list_name}", COMPARISON
        case IsNull(operand=child, negated=negated):
            keyword = "is not null" if negated else "is null"
            return f"{operand(child, ADDITIVE)} {keyword}", COMPARISON
        case Call(name=name, args=args):
            return f"{name}({', '.join(render(arg, show_name) for arg in args)})", PRIMARY
    raise TypeError(f"not a rule node: {node!r}")
