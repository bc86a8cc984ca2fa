"""Static type checker: a syntax tree and a schema to a typed tree, or ``RuleTypeError``.

Every node gets a ``Type``. Operators and functions require operand types; a mismatch is
an error at the offending operand (for a binary operator, the left operand sets what the
right one must be). Where an ``any`` value (``metadata.*``) meets a required type, the
checker inserts a ``Guard`` node: at run time a value of another type becomes null. The
checker also screens ``matches`` patterns, replacing each with its compiled form, and
requires the value looked up in ``@list`` to come from the transaction alone.

>>> from chalicelib.rules.nodes import dump
>>> from chalicelib.rules.parser import parse
>>> schema = Schema.for_transaction([])
>>> dump(check(parse("metadata.tries > 3"), schema, "metadata.tries > 3").root)
'(> (as-number metadata.tries) 3)'
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import replace
from typing import NamedTuple

from chalicelib.rules.errors import RuleTypeError
from chalicelib.rules.functions import FUNCTIONS, Function
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
from chalicelib.rules.safe_regex import compile_pattern
from chalicelib.rules.schema import Schema, Type

ORDERING_OPERATORS = frozenset(("<", "<=", ">", ">="))
ORDERED_TYPES = (Type.NUMBER, Type.STRING, Type.TIMESTAMP)
EQUALITY_TYPES = (Type.NUMBER, Type.STRING, Type.BOOL, Type.TIMESTAMP)
LIST_ITEM_TYPES = (Type.NUMBER, Type.STRING, Type.BOOL)
LIST_KEY_TYPES = (Type.STRING, Type.NUMBER)


class TypedTree(NamedTuple):
    """A checked tree (with ``Guard`` nodes and compiled patterns) and the type of each node."""

    root: Node
    types: Mapping[Node, Type]


def check(root: Node, schema: Schema, text: str) -> TypedTree:
    """Type-check ``root`` (parsed from ``text``) against ``schema``.

    Raises
    ------
    RuleTypeError
        Unknown identifier or function, wrong arity, operand of the wrong type, a feature
        or score in the value looked up in a list, or a result that is not a boolean.
    RuleLimitError, RuleSyntaxError
        A ``matches`` pattern is unsafe or invalid.
    """
    checker = _Checker(schema, text)
    typed = checker.require(checker.visit(root), Type.BOOL, "the expression (a condition)")
    return TypedTree(typed, checker.types)


def _types(types: tuple[Type, ...]) -> str:
    names = [str(type_) for type_ in types]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


class _Checker:
    def __init__(self, schema: Schema, text: str) -> None:
        self.schema = schema
        self.text = text
        self.types: dict[Node, Type] = {}

    def error(
        self, node: Node, message: str, expected: str, actual: str | None = None
    ) -> RuleTypeError:
        return RuleTypeError(  # str() turns a Type into a plain string
            message,
            position=node.position,
            expected=str(expected),
            actual=None if actual is None else str(actual),
            text=self.text,
        )

    def typed(self, node: Node, type_: Type) -> Node:
        self.types[node] = type_
        return node

    def require(self, node: Node, target: Type, site: str) -> Node:
        """``node`` when it has type ``target``; an ``any`` node guarded to it; else an error."""
        actual = self.types[node]
        if actual is target:
            return node
        if actual is Type.ANY:
            return self.typed(Guard(node.position, node, target), target)
        if actual is Type.NULL:
            raise self.error(
                node, f"null is always null as {site}; use 'is null' or coalesce()", target
            )
        raise self.error(node, f"wrong type for {site}", target, actual)

    def visit(self, node: Node) -> Node:
        match node:
            case Literal():
                return self.literal(node)
            case Name():
                return self.name(node)
            case Negate(operand=operand):
                operand = self.require(self.visit(operand), Type.NUMBER, "operand of '-'")
                return self.typed(replace(node, operand=operand), Type.NUMBER)
            case Not(operand=operand):
                operand = self.require(self.visit(operand), Type.BOOL, "operand of 'not'")
                return self.typed(replace(node, operand=operand), Type.BOOL)
            case Arithmetic(op=op):
                site = f"operand of '{op}'"
                left = self.require(self.visit(node.left), Type.NUMBER, site)
                right = self.require(self.visit(node.right), Type.NUMBER, site)
                return self.typed(replace(node, left=left, right=right), Type.NUMBER)
            case Comparison():
                return self.comparison(node)
            case Logical(op=op, operands=operands):
                site = f"operand of '{op}'"
                checked = tuple(self.require(self.visit(o), Type.BOOL, site) for o in operands)
                return self.typed(replace(node, operands=checked), Type.BOOL)
            case InList():
                return self.in_list(node)
            case InNamedList():
                return self.in_named_list(node)
            case IsNull(operand=operand):
                return self.typed(replace(node, operand=self.visit(operand)), Type.BOOL)
            case Call():
                return self.call(node)
        raise TypeError(f"not a parsed rule node: {node!r}")

    def literal(self, node: Literal) -> Node:
        value = node.value
        if value is None:
            type_ = Type.NULL
        elif isinstance(value, bool):
            type_ = Type.BOOL
        elif isinstance(value, str):
            type_ = Type.STRING
        else:
            type_ = Type.NUMBER
        return self.typed(node, type_)

    def name(self, node: Name) -> Node:
        field = self.schema.get(node.name)
        if field is not None:
            return self.typed(node, field.type)
        message = f"unknown identifier '{node.name}'"
        if node.name in FUNCTIONS:
            message += f"; did you mean the function {node.name}(...)?"
        else:
            close = difflib.get_close_matches(node.name, self.schema.names(), n=1)
            if close:
                message += f"; did you mean '{close[0]}'?"
        raise self.error(node, message, "a transaction field, feature or score")

    def comparison(self, node: Comparison) -> Node:
        left, right = self.visit(node.left), self.visit(node.right)
        for operand in (left, right):
            if self.types[operand] is Type.NULL:
                raise self.error(
                    operand, "comparing with null always gives null", "'is null' or 'is not null'"
                )
        allowed = ORDERED_TYPES if node.op in ORDERING_OPERATORS else EQUALITY_TYPES
        left_type, right_type = self.types[left], self.types[right]
        if left_type is not Type.ANY or right_type is not Type.ANY:
            target = right_type if left_type is Type.ANY else left_type
            if target not in allowed:
                culprit = left if left_type is target else right
                raise self.error(
                    culprit, f"'{node.op}' cannot compare a {target}", _types(allowed), target
                )
            site = f"right operand of '{node.op}'"
            left = self.require(left, target, f"left operand of '{node.op}'")
            right = self.require(right, target, site)
        return self.typed(replace(node, left=left, right=right), Type.BOOL)

    def in_list(self, node: InList) -> Node:
        operand = self.visit(node.operand)
        items = [self.visit(item) for item in node.items]
        operand_type = self.types[operand]
        if operand_type not in (*LIST_ITEM_TYPES, Type.ANY):
            raise self.error(
                operand, "wrong type for operand of 'in'", _types(LIST_ITEM_TYPES), operand_type
            )
        target = self.types[items[0]] if operand_type is Type.ANY else operand_type
        for item in items:
            if self.types[item] is not target:
                raise self.error(
                    item, "list items must match the operand", target, self.types[item]
                )
        operand = self.require(operand, target, "operand of 'in'")
        return self.typed(replace(node, operand=operand), Type.BOOL)

    def in_named_list(self, node: InNamedList) -> Node:
        operand = self.visit(node.operand)
        operand_type = self.types[operand]
        if operand_type not in (*LIST_KEY_TYPES, Type.ANY):
            raise self.error(
                operand,
                "wrong type for operand of 'in @list'",
                _types(LIST_KEY_TYPES),
                operand_type,
            )
        for inner, _ in walk(operand):
            field = self.schema.get(inner.name) if isinstance(inner, Name) else None
            if isinstance(inner, InNamedList) or (field and not field.from_transaction):
                raise self.error(
                    inner,
                    "the value looked up in a list must come from the transaction alone",
                    "transaction fields",
                    "a feature or score" if field else "a list lookup",
                )
        return self.typed(replace(node, operand=operand), Type.BOOL)

    def call(self, node: Call) -> Node:
        function = FUNCTIONS.get(node.name)
        if function is None:
            raise self.error(
                node, f"unknown function '{node.name}'", "one of " + ", ".join(sorted(FUNCTIONS))
            )
        self.check_arity(node, function)
        args = [self.visit(arg) for arg in node.args]
        if function.result is None:
            result = self.unify(args, node.name)
        else:
            result = function.result
            for index, arg in enumerate(args):
                param = function.param(index)
                if param is not Type.ANY:
                    site = f"argument {index + 1} of {node.name}()"
                    args[index] = self.require(arg, param, site)
                if index in function.pattern_args:
                    args[index] = self.pattern(args[index], node.name)
        return self.typed(replace(node, args=tuple(args)), result)

    def check_arity(self, node: Call, function: Function) -> None:
        count, low, high = len(node.args), function.min_args, function.max_args
        if low <= count and (high is None or count <= high):
            return
        if high is None:
            expected = f"at least {low} arguments"
        elif low == high:
            expected = f"{low} argument{'s' if low > 1 else ''}"
        else:
            expected = f"{low} to {high} arguments"
        raise self.error(node, f"wrong number of arguments for {node.name}()", expected, str(count))

    def unify(self, args: list[Node], function: str) -> Type:
        """Common type of ``args`` (``any`` ones guarded to it); arguments are rewritten."""
        concrete = [self.types[a] for a in args if self.types[a] not in (Type.ANY, Type.NULL)]
        if not concrete:
            return Type.ANY if any(self.types[a] is Type.ANY for a in args) else Type.NULL
        target = concrete[0]
        for index, arg in enumerate(args):
            if self.types[arg] is not Type.NULL:
                args[index] = self.require(arg, target, f"argument {index + 1} of {function}()")
        return target

    def pattern(self, node: Node, function: str) -> Node:
        if not (isinstance(node, Literal) and isinstance(node.value, str)):
            raise self.error(
                node, f"the pattern of {function}() must be written out", "a string literal"
            )
        compiled = compile_pattern(node.value, position=node.position, text=self.text)
        return self.typed(replace(node, value=compiled), Type.STRING)
