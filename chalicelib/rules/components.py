"""The rules side of a running function, composed from its stores.

``runtime.build`` (Lambda), the local stack and the tests give the stores (DynamoDB or in
memory); this module wires the provider scoring reads with the services the API calls,
so that a change made through this function's API is seen by its next decision.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from chalicelib.identifiers import IdentifierHasher
from chalicelib.rules.list_service import ListsService
from chalicelib.rules.lists import ListValues
from chalicelib.rules.provider import RuleSetProvider
from chalicelib.rules.ruleset import CompiledRuleSet
from chalicelib.rules.schema import Schema
from chalicelib.rules.service import RulesService, rules_version
from chalicelib.rules.store import ListStore, RuleSetVersion, RuleStore


class RuleComponents(NamedTuple):
    """What scoring (``provider``) and the API (``rules``, ``lists``) use."""

    provider: RuleSetProvider
    rules: RulesService
    lists: ListsService


def build_components(
    rule_store: RuleStore,
    list_store: ListStore,
    schema: Schema,
    hasher: IdentifierHasher,
    refresh_seconds: float,
    count: Callable[[str], None],
    monotonic: Callable[[], float] = time.monotonic,
) -> RuleComponents:
    """Compose the provider and services.

    Parameters
    ----------
    rule_store, list_store:
        Storage.
    schema:
        What expressions may read (the online features' names).
    hasher:
        Keys personal list values (the service's identifier hasher).
    refresh_seconds:
        How often scoring re-reads the rule set head.
    count:
        Metric counter for rule hits.
    monotonic:
        The provider's clock (tests move it).
    """
    values = ListValues(hasher)

    def build(version: RuleSetVersion) -> CompiledRuleSet:
        label = rules_version(version.version)
        return CompiledRuleSet(label, version.rules, schema, values, count=count)

    provider = RuleSetProvider(rule_store, build, refresh_seconds, monotonic)
    rules = RulesService(rule_store, schema, on_change=provider.invalidate)
    return RuleComponents(provider, rules, ListsService(list_store, values))
