"""The fraud analysts' rule language: a safe, typed expression language over a transaction.

An expression such as ``customer_id in @watchlist and amount > 500`` is parsed once into a
syntax tree, type-checked against a ``Schema`` and compiled into Python closures; it never
goes through ``eval``. See ``docs/rules.md`` for the grammar, types, null semantics,
functions and limits.

>>> rule = compile_expression("lower(email) in @blocked_emails or amount > 5000",
...                           Schema.for_transaction([]))
>>> context = MappingContext({"email": "A@B.CO", "amount": 12.0}, {"blocked_emails": {"a@b.co"}})
>>> rule.evaluate(context), sorted(rule.identifiers)
(True, ['amount', 'email'])
"""

from __future__ import annotations

from chalicelib.rules.compiler import EvaluationContext
from chalicelib.rules.errors import (
    RuleError,
    RuleEvaluationError,
    RuleLimitError,
    RuleSyntaxError,
    RuleTypeError,
)
from chalicelib.rules.functions import FUNCTIONS
from chalicelib.rules.language import CompiledExpression, MappingContext, compile_expression
from chalicelib.rules.schema import Field, Schema, Type, feature_identifier
from chalicelib.rules.values import list_key

__all__ = [
    "FUNCTIONS",
    "CompiledExpression",
    "EvaluationContext",
    "Field",
    "MappingContext",
    "RuleError",
    "RuleEvaluationError",
    "RuleLimitError",
    "RuleSyntaxError",
    "RuleTypeError",
    "Schema",
    "Type",
    "compile_expression",
    "feature_identifier",
    "list_key",
]
