"""Compiler: a typed tree to a tree of Python closures.

Each node becomes a closure ``f(context) -> value`` built from the operator and function
tables; nothing is parsed or looked up by name at run time, and evaluation allocates
nothing beyond what the functions themselves return. Null semantics live here: an
operator or a null-propagating function with a null operand gives null, ``and`` / ``or`` /
``not`` follow Kleene's three-valued logic, ``is null`` is never null.

>>> from chalicelib.rules.checker import check
>>> from chalicelib.rules.parser import parse
>>> from chalicelib.rules.schema import Schema
>>> class Context:
...     def value(self, name): return {"amount": 120.0}.get(name)
...     def in_list(self, list_name, value): return False
>>> text = "amount * 2 > 200 or customer.nb_tx_1d > 3"
>>> compile_tree(check(parse(text), Schema.for_transaction(["customer_nb_tx_1d"]), text))(Context())
True
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Protocol

from chalicelib.rules.checker import ORDERING_OPERATORS, TypedTree
from chalicelib.rules.functions import FUNCTIONS
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
    walk,
)
from chalicelib.rules.schema import Type
from chalicelib.rules.values import GUARDS, as_bool, as_number, as_string, finite, list_key


class EvaluationContext(Protocol):
    """What an expression reads: identifier values and stored-list membership."""

    def value(self, name: str) -> Any:
        """The value of identifier ``name`` (of its schema type), or ``None`` when absent."""
        ...

    def in_list(self, list_name: str, value: str) -> bool:
        """Whether the stored list ``list_name`` holds ``value`` (a ``list_key`` string)."""
        ...


Evaluator = Callable[[EvaluationContext], Any]


def _add(left: float, right: float) -> float | None:
    return finite(left + right)


def _subtract(left: float, right: float) -> float | None:
    return finite(left - right)


def _multiply(left: float, right: float) -> float | None:
    return finite(left * right)


def _divide(left: float, right: float) -> float | None:
    return None if right == 0 else finite(left / right)


def _modulo(left: float, right: float) -> float | None:
    return None if right == 0 else finite(left % right)


ARITHMETIC: Mapping[str, Callable[[float, float], float | None]] = {
    "+": _add,
    "-": _subtract,
    "*": _multiply,
    "/": _divide,
    "%": _modulo,
}
COMPARISONS: Mapping[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
# ``a op b`` is ``b reflected-op a``: lets a comparison with a constant be one C call.
REFLECTED: Mapping[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.gt,
    "<=": operator.ge,
    ">": operator.lt,
    ">=": operator.le,
}
# Types two ``any`` values may share for a comparison, as run-time checks.
_ORDERED_GUARDS = (as_number, as_string)
_EQUALITY_GUARDS = (as_number, as_string, as_bool)


def compile_tree(tree: TypedTree) -> Evaluator:
    """The evaluator of ``tree``: call it with an ``EvaluationContext``."""
    return _Compiler(tree.types).compile(tree.root)


def compile_lookups(tree: TypedTree) -> tuple[tuple[str, Evaluator], ...]:
    """For each ``in @list`` of ``tree``: the list name and the evaluator of its key."""
    compiler = _Compiler(tree.types)
    return tuple(
        (node.list_name, compiler.list_key(node.operand))
        for node, _ in walk(tree.root)
        if isinstance(node, InNamedList)
    )


class _Compiler:
    def __init__(self, types: Mapping[Node, Type]) -> None:
        self.types = types

    def compile(self, node: Node) -> Evaluator:
        match node:
            case Literal(value=value):
                return lambda context: value
            case Name(name=name):
                return lambda context: context.value(name)
            case Guard(operand=operand, type=type_):
                return self.unary(GUARDS[type_], operand)
            case Negate(operand=operand):
                return self.unary(operator.neg, operand)
            case Not(operand=operand):
                return self.unary(operator.not_, operand)
            case Arithmetic(op=op, left=left, right=right):
                return self.binary(ARITHMETIC[op], left, right)
            case Comparison(op=op, left=Name(name=name), right=Literal(value=constant)):
                return _compare_name(name, COMPARISONS[op], constant)
            case Comparison(op=op, left=left, right=Literal(value=constant)):
                return self.unary(partial(REFLECTED[op], constant), left)
            case Comparison(op=op, left=left, right=right):
                if self.types[left] is Type.ANY and self.types[right] is Type.ANY:
                    guards = _ORDERED_GUARDS if op in ORDERING_OPERATORS else _EQUALITY_GUARDS
                    return self.binary(_dynamic(COMPARISONS[op], guards), left, right)
                return self.binary(COMPARISONS[op], left, right)
            case Logical(op=op, operands=operands):
                return (_and if op == "and" else _or)(tuple(map(self.compile, operands)))
            case InList(operand=operand, items=items, negated=negated):
                members = frozenset(item.value for item in items)
                if negated:
                    return self.unary(lambda value: value not in members, operand)
                return self.unary(members.__contains__, operand)
            case InNamedList():
                return _in_named_list(node.list_name, self.list_key(node.operand), node.negated)
            case IsNull(operand=operand, negated=negated):
                return _is_null(self.compile(operand), negated)
            case Call(name=name, args=args):
                return self.call(name, args)
        raise TypeError(f"not a checked rule node: {node!r}")

    def unary(self, function: Callable[[Any], Any], operand: Node) -> Evaluator:
        """``function(operand)``, null when the operand is null."""
        if isinstance(operand, Name):
            name = operand.name

            def apply_to_name(context: EvaluationContext) -> Any:
                value = context.value(name)
                return None if value is None else function(value)

            return apply_to_name
        evaluate = self.compile(operand)

        def apply(context: EvaluationContext) -> Any:
            value = evaluate(context)
            return None if value is None else function(value)

        return apply

    def binary(self, function: Callable[[Any, Any], Any], left: Node, right: Node) -> Evaluator:
        """``function(left, right)``, null when either operand is null."""
        if isinstance(right, Literal):
            constant = right.value
            return self.unary(lambda value: function(value, constant), left)
        evaluate_left, evaluate_right = self.compile(left), self.compile(right)

        def apply(context: EvaluationContext) -> Any:
            left_value = evaluate_left(context)
            if left_value is None:
                return None
            right_value = evaluate_right(context)
            return None if right_value is None else function(left_value, right_value)

        return apply

    def list_key(self, operand: Node) -> Evaluator:
        """Evaluator of the ``list_key`` string looked up for ``operand``."""
        if self.types[operand] is Type.STRING:
            return self.compile(operand)
        return self.unary(list_key, operand)

    def call(self, name: str, args: tuple[Node, ...]) -> Evaluator:
        function = FUNCTIONS[name]
        if function.null_propagating and len(args) == 1:
            return self.unary(function.impl, args[0])
        if function.null_propagating and len(args) == 2:
            return self.binary(function.impl, args[0], args[1])
        evaluators = tuple(map(self.compile, args))
        impl, strict = function.impl, function.null_propagating

        def apply(context: EvaluationContext) -> Any:
            values = [evaluate(context) for evaluate in evaluators]
            if strict and None in values:
                return None
            return impl(*values)

        return apply


def _compare_name(name: str, compare: Callable[[Any, Any], bool], constant: Any) -> Evaluator:
    """``name <op> constant``, the most common comparison, in one call."""

    def apply(context: EvaluationContext) -> bool | None:
        value = context.value(name)
        return None if value is None else compare(value, constant)

    return apply


def _dynamic(
    compare: Callable[[Any, Any], bool], guards: tuple[Callable[[Any], Any], ...]
) -> Callable[[Any, Any], bool | None]:
    """``compare`` for two ``any`` values: null unless both pass one of ``guards``."""

    def apply(left: Any, right: Any) -> bool | None:
        for guard in guards:
            left_value, right_value = guard(left), guard(right)
            if left_value is not None and right_value is not None:
                return compare(left_value, right_value)
        return None

    return apply


def _and(operands: tuple[Evaluator, ...]) -> Evaluator:
    if len(operands) == 2:
        return _and_pair(*operands)

    def apply(context: EvaluationContext) -> bool | None:
        unknown = False
        for operand in operands:
            value = operand(context)
            if value is None:
                unknown = True
            elif not value:
                return False
        return None if unknown else True

    return apply


def _or(operands: tuple[Evaluator, ...]) -> Evaluator:
    if len(operands) == 2:
        return _or_pair(*operands)

    def apply(context: EvaluationContext) -> bool | None:
        unknown = False
        for operand in operands:
            value = operand(context)
            if value is None:
                unknown = True
            elif value:
                return True
        return None if unknown else False

    return apply


def _and_pair(first: Evaluator, second: Evaluator) -> Evaluator:
    """``first and second``: ``_and`` of two operands, without its loop."""

    def apply(context: EvaluationContext) -> bool | None:
        left = first(context)
        if left is not None and not left:
            return False
        right = second(context)
        if right is None:
            return None
        if not right:
            return False
        return None if left is None else True

    return apply


def _or_pair(first: Evaluator, second: Evaluator) -> Evaluator:
    """``first or second``: ``_or`` of two operands, without its loop."""

    def apply(context: EvaluationContext) -> bool | None:
        left = first(context)
        if left:
            return True
        right = second(context)
        if right:
            return True
        return None if left is None or right is None else False

    return apply


def _in_named_list(list_name: str, key: Evaluator, negated: bool) -> Evaluator:
    def apply(context: EvaluationContext) -> bool | None:
        value = key(context)
        if value is None:
            return None
        found = context.in_list(list_name, value)
        return not found if negated else bool(found)

    return apply


def _is_null(operand: Evaluator, negated: bool) -> Evaluator:
    def apply(context: EvaluationContext) -> bool:
        return (operand(context) is None) is not negated

    return apply
