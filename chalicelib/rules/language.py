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
from chalicelib.rules.nodes import InNamedList, Name, Node, walk
from chalicelib.rules.parser import parse
from chalicelib.rules.render import format_value, render
from chalicelib.rules.schema import Schema

# What a value of the wrong type for its identifier makes Python raise.
SCHEMA_BREACHES = (TypeError, ValueError, ArithmeticError, AttributeError)


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
        "_template",
        "_tree",
        "identifiers",
        "list_names",
        "lookup_count",
        "text",
    )

    def __init__(self, text: str, tree: TypedTree) -> None:
        self.text = text
        self._tree = tree
        self._template: tuple[str, tuple[str, ...]] | None = None
        self._evaluate = compile_tree(tree)
        self._lookups = compile_lookups(tree)
        nodes = [node for node, _ in walk(tree.root)]
        self.identifiers = frozenset(node.name for node in nodes if isinstance(node, Name))
        self.list_names = frozenset(n.list_name for n in nodes if isinstance(n, InNamedList))
        self.lookup_count = len(self._lookups)

    def __repr__(self) -> str:
        return f"CompiledExpression({self.text!r})"

    @property
    def evaluator(self) -> Callable[[EvaluationContext], bool | None]:
        """The compiled closure itself: ``evaluate`` without its wrapping of errors (a
        context that breaks the schema raises Python's ``TypeError`` and kin), for callers
        that evaluate many expressions and wrap them once."""
        return self._evaluate

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
        except SCHEMA_BREACHES as error:
            raise self._breach(error) from error

    def explain(self, context: EvaluationContext) -> str:
        """The expression with each identifier followed by the value it saw.

        For example ``customer.nb_tx_1d (7) > 5 and amount (80.00) > 50``: integers as is,
        other numbers with 2 decimals (4 significant digits below 1), null as ``null``.
        """
        return self.explain_with(lambda name: format_value(context.value(name)))

    def explain_with(self, shown: Callable[[str], str]) -> str:
        """``explain`` with ``shown(identifier)`` as the text of each value (a caller
        explaining many rules of one transaction can format each value once)."""
        if self._template is None:
            self._template = _explain_template(self._tree.root)
        template, names = self._template
        return template % tuple(map(shown, names))

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
        except SCHEMA_BREACHES as error:
            raise self._breach(error) from error
        return pairs

    def _breach(self, error: Exception) -> RuleEvaluationError:
        return RuleEvaluationError(
            f"evaluation context breaks the schema of {self.text!r}: {error}"
        )


# Marks where a value goes in an explanation; no rendered expression contains it (a
# string literal keeps its escapes as written, and raw control characters are refused).
_SLOT = "\x00"


def _explain_template(root: Node) -> tuple[str, tuple[str, ...]]:
    """The rendered expression as a ``%`` template with a ``%s`` for each identifier's
    value, and those identifiers in order."""
    names: list[str] = []

    def slot(name: Name) -> str:
        names.append(name.name)
        return f"{name.name} ({_SLOT})"

    template = render(root, slot).replace("%", "%%").replace(_SLOT, "%s")
    return template, tuple(names)


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
