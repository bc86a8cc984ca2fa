"""Public entry point: compile an expression once, evaluate it many times.

>>> schema = Schema.for_transaction(["customer_nb_tx_1d"])
>>> rule = compile_expression("customer_id in @watchlist and amount > 500", schema)
>>> context = MappingContext({"customer_id": "c42", "amount": 1250.0}, {"watchlist": {"c42"}})
>>> rule.evaluate(context), rule.list_lookups(context)
(True, {('watchlist', 'c42')})
>>> rule.explain(context)
'customer_id (c42) in @watchlist and amount (1250.00) > 500'
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from chalicelib.rules.checker import TypedTree, check
from chalicelib.rules.compiler import EvaluationContext, compile_lookups, compile_tree
from chalicelib.rules.errors import RuleEvaluationError, RuleSyntaxError
from chalicelib.rules.nodes import InNamedList, Name, walk
from chalicelib.rules.parser import parse
from chalicelib.rules.render import format_value, render
from chalicelib.rules.schema import Schema

# What a value of the wrong type for its identifier makes Python raise.
_SCHEMA_BREACHES = (TypeError, ValueError, ArithmeticError, AttributeError)


def compile_expression(text: str, schema: Schema) -> CompiledExpression:
    """Parse, type-check and compile ``text`` against ``schema``.

    Raises
    ------
    RuleSyntaxError, RuleTypeError, RuleLimitError
        The expression is invalid; the error carries the position and what was expected.
        Nothing else escapes, whatever ``text`` holds.
    """
    if not isinstance(text, str):
        raise RuleSyntaxError("the expression is not text", position=0, expected="a string")
    return CompiledExpression(text, check(parse(text), schema, text))


class CompiledExpression:
    """A checked expression, ready to be evaluated.

    Attributes
    ----------
    text:
        The source text.
    identifiers:
        Identifiers the expression reads.
    list_names:
        Stored lists it looks values up in (without ``@``).
    lookup_count:
        Its ``in @list`` lookups (each may cost one key of the scoring fetch).
    """

    __slots__ = (
        "_evaluate",
        "_lookups",
        "_tree",
        "identifiers",
        "list_names",
        "lookup_count",
        "text",
    )

    def __init__(self, text: str, tree: TypedTree) -> None:
        self.text = text
        self._tree = tree
        self._evaluate = compile_tree(tree)
        self._lookups = compile_lookups(tree)
        nodes = [node for node, _ in walk(tree.root)]
        self.identifiers = frozenset(node.name for node in nodes if isinstance(node, Name))
        self.list_names = frozenset(n.list_name for n in nodes if isinstance(n, InNamedList))
        self.lookup_count = len(self._lookups)

    def __repr__(self) -> str:
        return f"CompiledExpression({self.text!r})"

    def evaluate(self, context: EvaluationContext) -> bool | None:
        """Three-valued result: ``True`` means the rule fires; ``False`` or ``None`` (null,
        unknown) mean it does not.

        Raises
        ------
        RuleEvaluationError
            ``context`` gave a value of the wrong type for a typed identifier (``any``
            values never raise: a mismatch is null).
        """
        try:
            return self._evaluate(context)
        except _SCHEMA_BREACHES as error:
            raise self._breach(error) from error

    def explain(self, context: EvaluationContext) -> str:
        """The expression with each identifier followed by the value it saw.

        For example ``customer.nb_tx_1d (7) > 5 and amount (80.00) > 50``: integers as is,
        other numbers with 2 decimals (4 significant digits below 1), null as ``null``.
        """
        return render(self._tree.root, lambda name: _shown(name, context))

    def list_lookups(self, context: EvaluationContext) -> set[tuple[str, str]]:
        """The ``(list_name, value)`` pairs evaluation may look up, from transaction fields
        alone, so the caller can fetch them before evaluating (a superset of what
        evaluation will ask when ``and`` / ``or`` short-circuit).

        Raises
        ------
        RuleEvaluationError
            As ``evaluate``.
        """
        pairs = set()
        try:
            for list_name, key in self._lookups:
                value = key(context)
                if value is not None:
                    pairs.add((list_name, value))
        except _SCHEMA_BREACHES as error:
            raise self._breach(error) from error
        return pairs

    def _breach(self, error: Exception) -> RuleEvaluationError:
        return RuleEvaluationError(
            f"evaluation context breaks the schema of {self.text!r}: {error}"
        )


def _shown(name: Name, context: EvaluationContext) -> str:
    return f"{name.name} ({format_value(context.value(name.name))})"


class MappingContext:
    """An in-memory ``EvaluationContext``.

    Parameters
    ----------
    values:
        Identifier (``amount``, ``customer.nb_tx_1d``, ``metadata.channel``) to value;
        a missing identifier is null.
    lists:
        List name to the ``list_key`` strings it holds; a missing list is empty.
    """

    __slots__ = ("_lists", "value")

    def __init__(
        self, values: Mapping[str, Any], lists: Mapping[str, Collection[str]] | None = None
    ) -> None:
        self.value: Callable[[str], Any] = dict(values).get
        self._lists: Mapping[str, Collection[str]] = lists or {}

    def in_list(self, list_name: str, value: str) -> bool:
        """Whether list ``list_name`` holds ``value``."""
        members = self._lists.get(list_name)
        return members is not None and value in members
