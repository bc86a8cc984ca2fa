"""Trying an expression against one transaction before saving it as a rule.

The expression goes through the same validation and the same evaluation path as a stored
rule (``CompiledRuleSet``: context, lists with expiry, redacted explanation); nothing is
written. The caller gives the transaction, its features and score (from a stored
decision, or made up), and a way to fetch list items.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from chalicelib.rules.context import Explainer
from chalicelib.rules.definitions import parse_rule
from chalicelib.rules.lists import ListValues, is_live
from chalicelib.rules.ruleset import CompiledRuleSet
from chalicelib.rules.schema import Schema
from chalicelib.rules.validation import (
    BodyValidationError,
    Problem,
    check_fields,
    raise_problems,
)
from chalicelib.state.store import ListKey
from chalicelib.state.updates import Item
from chalicelib.transaction import Transaction

TRIAL_FIELDS = ("expression", "transaction", "transaction_id", "features", "score")
INVALID_TRIAL = "invalid_trial"
TRIAL_RULE_ID = "trial"

FetchLists = Callable[[Iterable[ListKey]], Mapping[ListKey, Item]]


def check_trial(body: Mapping[str, Any]) -> tuple[dict[str, float] | None, float | None]:
    """Check a trial body's fields other than the expression and the transaction: returns
    its ``features`` and ``score`` (``None`` when absent).

    Raises
    ------
    BodyValidationError
        Naming every bad field.
    """
    problems: list[Problem] = []
    check_fields(problems, body, TRIAL_FIELDS)
    if ("transaction" in body) == ("transaction_id" in body):
        problems.append(Problem("transaction", "give either transaction or transaction_id"))
    features = body.get("features")
    if features is not None and not (
        isinstance(features, Mapping)
        and all(_is_number(v) and isinstance(k, str) for k, v in features.items())
    ):
        problems.append(Problem("features", "must map feature names to numbers"))
    score = body.get("score")
    if score is not None and not (_is_number(score) and 0 <= score <= 1):
        problems.append(Problem("score", "must be a number from 0 to 1"))
    raise_problems(problems, INVALID_TRIAL)
    return (dict(features) if features is not None else None), score


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def try_expression(
    expression: Any,
    tx: Transaction,
    features: Mapping[str, float],
    score: float | None,
    schema: Schema,
    values: ListValues,
    fetch: FetchLists,
) -> dict[str, Any]:
    """Evaluate ``expression`` for ``tx`` as a stored rule would be.

    Returns
    -------
    dict
        ``result`` (``true``, ``false`` or ``null``), ``fires``, ``explanation`` (values
        shown, e-mail and IP redacted), ``identifiers`` read and ``list_lookups`` made.

    Raises
    ------
    BodyValidationError
        The expression is invalid (with the language error's position).
    """
    try:
        rule = parse_rule(
            {"rule_id": TRIAL_RULE_ID, "expression": expression, "action": "review"}, schema
        )
    except BodyValidationError as error:
        raise BodyValidationError(error.problems, INVALID_TRIAL, error.expression_error) from None
    rule_set = CompiledRuleSet(TRIAL_RULE_ID, [rule], schema, values)
    lookups = rule_set.list_lookups(tx)
    items = fetch(lookups)
    context = rule_set.context(tx, features, score, items)
    now = time.time()
    [compiled] = rule_set.compiled
    result = compiled.expression.evaluate(context)
    return {
        "result": result,
        "fires": result is True,
        "explanation": compiled.expression.explain_with(Explainer(context).shown),
        "identifiers": sorted(compiled.expression.identifiers),
        "list_lookups": [
            {
                "list": name,
                "key": key,
                "member": (name, key) in items and is_live(items[name, key].get("expires_at"), now),
            }
            for name, key in sorted(lookups)
        ],
    }
