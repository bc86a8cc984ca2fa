"""The rules in force, compiled: scoring's ``RuleSet``.

For each transaction the rule set names the list items it may read (fetched in the same
``BatchGetItem`` as the velocity state), then evaluates its rules against one context:

* **active** rules decide (``chalicelib.decisions`` precedence: allow, then block and
  suspend, then review, then the model); ``alert`` rules only raise an alert;
* **shadow** rules are evaluated, counted and recorded with the decision, never deciding
  and never suspending;
* **disabled** rules are skipped.

A ``suspend`` rule that fires (and no allow rule does) puts the transaction's customer,
card or device on its block list until ``now + duration``; the item is committed with the
decision, in the same DynamoDB transaction, so a redelivered transaction writes nothing.
An entity that is already suspended is not suspended again (the suspension is not
extended). Every list a suspend rule names (whatever its mode) is enforced by a built-in
block rule ``<target> in @<list>``, id ``suspension:<list>``, above every other priority.

>>> from chalicelib.identifiers import IdentifierHasher
>>> from chalicelib.rules.definitions import Rule
>>> from chalicelib.rules.lists import ListValues
>>> from chalicelib.rules.schema import Schema
>>> from chalicelib.transaction import parse_transaction
>>> rules = CompiledRuleSet("7", [Rule("big", "amount > 1000", "block")],
...     Schema.for_transaction([]), ListValues(IdentifierHasher(b"k")))
>>> tx = parse_transaction({"transaction_id": "t1", "timestamp": "2025-03-14T10:00:00",
...     "amount": 1250.0, "customer_id": "c1", "terminal_id": "T1"}, default_currency="EUR")
>>> [hit.explanation for hit in rules.evaluate(tx, {}, 0.1, {}).hits]
['amount (1250.00) > 1000']
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from chalicelib.decisions import ACTION_PRECEDENCE, RuleHit, RuleOutcome
from chalicelib.rules.context import ContextBuilder, Explainer, RuleContext
from chalicelib.rules.definitions import Rule
from chalicelib.rules.errors import RuleError, RuleEvaluationError
from chalicelib.rules.language import (
    SCHEMA_BREACHES,
    CompiledExpression,
    MappingContext,
    compile_expression,
)
from chalicelib.rules.limits import MAX_PRIORITY
from chalicelib.rules.lists import ListEntry, ListValues, iso_time
from chalicelib.rules.schema import Schema
from chalicelib.state.store import ListKey, ListPut
from chalicelib.state.updates import Item
from chalicelib.transaction import Transaction

logger = logging.getLogger(__name__)

SUSPENSION_RULE_PREFIX = "suspension:"
SUSPENSION_PRIORITY = MAX_PRIORITY + 1
RANKED_ACTIONS = (*ACTION_PRECEDENCE, "alert")


def _ignore(metric: str) -> None:
    """Default metric counter: counts nothing."""


NO_DETAILS: Mapping[str, Any] = MappingProxyType({})


class CompiledRule:
    """A rule with its compiled expression and the names of its hit metrics."""

    __slots__ = ("expression", "metric", "rule", "shadow_metric")

    def __init__(self, rule: Rule, expression: CompiledExpression) -> None:
        self.rule = rule
        self.expression = expression
        self.metric = f"RuleHit_{rule.rule_id}"
        self.shadow_metric = f"ShadowRuleHit_{rule.rule_id}"

    def hit(self, explainer: Explainer, details: Mapping[str, Any] = NO_DETAILS) -> RuleHit:
        """The ``RuleHit`` of this rule, explained with the values ``explainer`` shows."""
        rule = self.rule
        explanation = self.expression.explain_with(explainer.shown)
        return RuleHit(
            rule.rule_id, rule.action, rule.priority, explanation, rule.expression, details
        )


def enforcement_rules(rules: Sequence[Rule]) -> list[Rule]:
    """The built-in block rule of every list that a suspend rule of ``rules`` names."""
    pairs = {(r.suspend.target, r.suspend.list_name) for r in rules if r.suspend is not None}
    return [
        Rule(
            rule_id=f"{SUSPENSION_RULE_PREFIX}{list_name}",
            expression=f"{target} in @{list_name}",
            action="block",
            priority=SUSPENSION_PRIORITY,
            description=f"{target} is suspended (on @{list_name})",
        )
        for target, list_name in sorted(pairs)
    ]


def suspension_details(rule: Rule, put: ListPut) -> dict[str, Any]:
    """What a reason says of the suspension ``put`` made by ``rule``."""
    return {
        "list": put.list_name,
        "target": rule.suspend.target if rule.suspend else None,
        "expires_at": iso_time(put.item["expires_at"]),
    }


def _rank(rule: Rule) -> tuple[int, int, str]:
    return (RANKED_ACTIONS.index(rule.action), -rule.priority, rule.rule_id)


class CompiledRuleSet:
    """Scoring's ``RuleSet`` for one version of the stored rules.

    Parameters
    ----------
    version:
        The rule set version (``rules_version`` of decisions).
    rules:
        The stored rules, any mode.
    schema:
        What expressions may read. A rule that no longer compiles (a feature was removed)
        is left out and listed in ``refused``.
    values:
        How list values are keyed in storage.
    clock:
        UTC epoch seconds now: list expiry and suspension times.
    count:
        Adds one to a metric (``RuleHit_<id>``, ``ShadowRuleHit_<id>``).
    """

    def __init__(
        self,
        version: str,
        rules: Sequence[Rule],
        schema: Schema,
        values: ListValues,
        clock: Callable[[], float] = time.time,
        count: Callable[[str], None] = _ignore,
    ) -> None:
        self.version = version
        self.refused: dict[str, RuleError] = {}
        compiled = []
        for rule in sorted([*rules, *enforcement_rules(rules)], key=_rank):
            if rule.mode == "disabled":
                continue
            try:
                compiled.append(CompiledRule(rule, compile_expression(rule.expression, schema)))
            except RuleError as error:
                self.refused[rule.rule_id] = error
        self.compiled: tuple[CompiledRule, ...] = tuple(compiled)
        # (rule, its compiled closure) pairs: the hot loop looks nothing up, and
        # ``evaluate`` wraps the schema breaches of all rules once.
        self._active = tuple(
            (c, c.expression.evaluator) for c in compiled if c.rule.mode == "active"
        )
        self._shadow = tuple(
            (c, c.expression.evaluator) for c in compiled if c.rule.mode == "shadow"
        )
        self._with_lists = tuple(c.expression for c in compiled if c.expression.list_names)
        identifiers = frozenset().union(*(c.expression.identifiers for c in compiled))
        self.identifiers: frozenset[str] = identifiers
        self._keys = values
        self._builder = ContextBuilder(identifiers, values.key)
        self._clock = clock
        self._count = count

    def list_lookups(self, tx: Transaction) -> set[ListKey]:
        """``(list, stored key)`` pairs the rules may read for ``tx``."""
        if not self._with_lists:
            return set()
        context = MappingContext(self._builder.transaction_values(tx))
        key = self._keys.key
        return {
            (name, key(value))
            for expression in self._with_lists
            for name, value in expression.list_lookups(context)
        }

    def context(
        self,
        tx: Transaction,
        features: Mapping[str, float],
        score: float | None,
        list_items: Mapping[ListKey, Item],
    ) -> RuleContext:
        """The evaluation context of ``tx`` (also used by backtests)."""
        return self._builder.context(tx, features, score, list_items, self._clock())

    def evaluate(
        self,
        tx: Transaction,
        features: Mapping[str, float],
        score: float,
        list_items: Mapping[ListKey, Item],
    ) -> RuleOutcome:
        """Active hits (with the suspensions to write) and shadow hits for ``tx``.

        Raises
        ------
        RuleEvaluationError
            A feature or field has a value of the wrong type (a bug of the caller).
        """
        context = self.context(tx, features, score, list_items)
        try:
            fired = [rule for rule, evaluate in self._active if evaluate(context) is True]
            shadow = [rule for rule, evaluate in self._shadow if evaluate(context) is True]
        except SCHEMA_BREACHES as error:
            raise RuleEvaluationError(
                f"the context of {tx.transaction_id} breaks the schema"
            ) from error
        if not fired and not shadow:
            return RuleOutcome()
        explainer = Explainer(context)
        allowed = any(rule.rule.action == "allow" for rule in fired)
        hits = []
        puts: dict[ListKey, ListPut] = {}
        for rule in fired:
            details = NO_DETAILS
            put = self._suspension(rule.rule, tx, context) if not allowed else None
            if put is not None and put.key not in puts:
                puts[put.key] = put
                details = {"suspension": suspension_details(rule.rule, put)}
            hits.append(rule.hit(explainer, details))
            self._count(rule.metric)
        for rule in shadow:
            self._count(rule.shadow_metric)
        shadow_hits = tuple(rule.hit(explainer) for rule in shadow)
        return RuleOutcome(tuple(hits), shadow_hits, tuple(puts.values()))

    def _suspension(self, rule: Rule, tx: Transaction, context: RuleContext) -> ListPut | None:
        """The list item suspending ``tx``'s target: ``None`` unless ``rule`` suspends and
        the target is present and not suspended already."""
        if rule.suspend is None:
            return None
        value = tx.get(rule.suspend.target)
        list_name = rule.suspend.list_name
        if value is None or context.in_list(list_name, value):
            return None
        now = self._clock()
        key = self._keys.key(value)
        entry = ListEntry(
            key=key,
            value=value if key == value else None,
            expires_at=int(now) + rule.suspend.seconds,
            added_at=iso_time(now),
            added_by=f"rule:{rule.rule_id}",
            source={
                "rule_id": rule.rule_id,
                "rule_version": self.version,
                "transaction_id": tx.transaction_id,
            },
        )
        return ListPut(list_name, key, entry.to_item())
