"""Syntax tree of an expression.

Nodes are immutable and compared by identity (so that they can key the checker's type
table). Every node carries ``position``, the 0-based offset of its principal token: the
operator of an operation, the name of an identifier or call, the first character of a
literal. ``walk`` visits a tree without recursion; ``dump`` writes it as an S-expression
for tests and debugging.

>>> from chalicelib.rules.parser import parse
>>> dump(parse("not a or b and c > 1"))
'(or (not a) (and b (> c 1)))'
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.rules.schema import Type


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    """Base of the syntax tree's nodes."""

    position: int

    def children(self) -> tuple[Node, ...]:
        """Direct sub-nodes, left to right."""
        return ()


@dataclass(frozen=True, slots=True, eq=False)
class Literal(Node):
    """A number (float), string, boolean or null (``None``); ``raw`` is its source text."""

    value: Any
    raw: str


@dataclass(frozen=True, slots=True, eq=False)
class Name(Node):
    """An identifier of the schema, such as ``amount`` or ``customer.nb_tx_1d``."""

    name: str


@dataclass(frozen=True, slots=True, eq=False)
class Negate(Node):
    """Unary minus of a non-literal operand (``-5`` is folded into a literal)."""

    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True, eq=False)
class Not(Node):
    """Logical negation."""

    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True, eq=False)
class Arithmetic(Node):
    """``left op right`` with ``op`` one of ``+ - * / %``."""

    op: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True, eq=False)
class Comparison(Node):
    """``left op right`` with ``op`` one of ``== != < <= > >=``."""

    op: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True, eq=False)
class Logical(Node):
    """``and`` / ``or`` over two or more operands (a chain of one operator is one node)."""

    op: str
    operands: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.operands


@dataclass(frozen=True, slots=True, eq=False)
class InList(Node):
    """``operand [not] in [item, ...]`` with literal items."""

    operand: Node
    items: tuple[Literal, ...]
    negated: bool

    def children(self) -> tuple[Node, ...]:
        return (self.operand, *self.items)


@dataclass(frozen=True, slots=True, eq=False)
class InNamedList(Node):
    """``operand [not] in @list_name``: membership in a stored list."""

    operand: Node
    list_name: str
    negated: bool

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True, eq=False)
class IsNull(Node):
    """``operand is [not] null``."""

    operand: Node
    negated: bool

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True, eq=False)
class Call(Node):
    """``name(arg, ...)``: a function of the function table."""

    name: str
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args


@dataclass(frozen=True, slots=True, eq=False)
class Guard(Node):
    """Run-time check that an ``any`` value has ``type`` (else null); added by the checker."""

    operand: Node
    type: Type

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


def walk(root: Node) -> Iterator[tuple[Node, int]]:
    """Every node of the tree with its depth (the root's is 1), depth first, left to right."""
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((child, depth + 1) for child in reversed(node.children()))


def dump(node: Node) -> str:
    """The tree as an S-expression: ``(op operand ...)``, names bare, literals as written."""
    match node:
        case Literal(raw=raw):
            return raw
        case Name(name=name):
            return name
        case Negate(operand=operand):
            return f"(- {dump(operand)})"
        case Not(operand=operand):
            return f"(not {dump(operand)})"
        case Arithmetic(op=op, left=left, right=right) | Comparison(op=op, left=left, right=right):
            return f"({op} {dump(left)} {dump(right)})"
        case Logical(op=op, operands=operands):
            return f"({op} {' '.join(dump(operand) for operand in operands)})"
        case InList(operand=operand, items=items, negated=negated):
            listed = " ".join(dump(item) for item in items)
            return f"({'not in' if negated else 'in'} {dump(operand)} [{listed}])"
        case InNamedList(operand=operand, list_name=list_name, negated=negated):
            return f"({'not in' if negated else 'in'} {dump(operand)} @{list_name})"
        case IsNull(operand=operand, negated=negated):
            return f"({'is not null' if negated else 'is null'} {dump(operand)})"
        case Call(name=name, args=args):
            return f"({name}{''.join(' ' + dump(arg) for arg in args)})"
        case Guard(operand=operand, type=type_):
            return f"(as-{type_} {dump(operand)})"
    raise TypeError(f"not a rule node: {node!r}")
