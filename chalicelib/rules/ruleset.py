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
from dataclasses import dataclass
from typing import Any

from chalicelib.decisions import ACTION_PRECEDENCE, RuleHit, RuleOutcome
from chalicelib.rules.context import ContextBuilder, RedactingContext, RuleContext
from chalicelib.rules.definitions import Rule
from chalicelib.rules.errors import RuleError
from chalicelib.rules.language import CompiledExpression, MappingContext, compile_expression
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


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its compiled expression."""

    rule: Rule
    expression: CompiledExpression

    def hit(self, context: RedactingContext, details: Mapping[str, Any] | None = None) -> RuleHit:
        """The ``RuleHit`` of this rule, explained with the values of ``context``."""
        return RuleHit(
            rule_id=self.rule.rule_id,
            action=self.rule.action,
            priority=self.rule.priority,
            explanation=self.expression.explain(context),
            expression=self.rule.expression,
            details=details or {},
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
        self._active = tuple(c for c in compiled if c.rule.mode == "active")
        self._shadow = tuple(c for c in compiled if c.rule.mode == "shadow")
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
        """Active hits (with the suspensions to write) and shadow hits for ``tx``."""
        context = self.context(tx, features, score, list_items)
        fired = [rule for rule in self._active if rule.expression.evaluate(context) is True]
        shadow = [rule for rule in self._shadow if rule.expression.evaluate(context) is True]
        if not fired and not shadow:
            return RuleOutcome()
        explain = RedactingContext(context)
        allowed = any(rule.rule.action == "allow" for rule in fired)
        hits = []
        puts: dict[ListKey, ListPut] = {}
        for rule in fired:
            put = None if allowed else self._suspension(rule.rule, tx, context)
            details = {}
            if put is not None and put.key not in puts:
                puts[put.key] = put
                details["suspension"] = {
                    "list": put.list_name,
                    "target": rule.rule.suspend.target,  # type: ignore[union-attr]
                    "expires_at": iso_time(put.item["expires_at"]),
                }
            hits.append(rule.hit(explain, details))
            self._count(f"RuleHit_{rule.rule.rule_id}")
        for rule in shadow:
            self._count(f"ShadowRuleHit_{rule.rule.rule_id}")
        return RuleOutcome(
            tuple(hits), tuple(rule.hit(explain) for rule in shadow), tuple(puts.values())
        )

    def _suspension(self, rule: Rule, tx: Transaction, context: RuleContext) -> ListPut | None:
        """The list item suspending ``tx``'s target, unless it is absent or suspended."""
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
