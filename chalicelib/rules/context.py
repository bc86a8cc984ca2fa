"""What a rule reads at scoring time: the transaction, its features, scores and lists.

``ContextBuilder`` turns a transaction, its feature values (pipeline names such as
``customer_nb_tx_1d``, seen by rules as ``customer.nb_tx_1d``) and its model score into an
``EvaluationContext``: one flat dictionary of the identifiers the rule set reads, plus
list membership from the items prefetched with the velocity state (an expired item is not
a member, whether or not DynamoDB's TTL has removed it yet). ``Explainer`` gives the
context's values for explanations, with e-mail and IP addresses hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from chalicelib.decisions import risk_score
from chalicelib.rules.lists import is_live, is_personal
from chalicelib.rules.render import format_value
from chalicelib.rules.schema import METADATA_WILDCARD, TRANSACTION_FIELDS, feature_identifier
from chalicelib.state.store import ListKey
from chalicelib.state.updates import Item
from chalicelib.transaction import Transaction

METADATA_PREFIX = METADATA_WILDCARD.removesuffix("*")
PERSONAL_FIELDS = frozenset({"email", "ip_address"})
REDACTED = "[redacted]"


class RuleContext:
    """An ``EvaluationContext`` over a flat dictionary and prefetched list items.

    Parameters
    ----------
    values:
        Identifier to value (missing: null).
    list_items:
        ``(list name, stored key)`` to the stored item.
    key:
        Stored key of a looked-up value (``ListValues.key``).
    now:
        UTC epoch seconds, for the items' expiry.
    """

    __slots__ = ("_items", "_key", "_keys", "_now", "value", "values")

    def __init__(
        self,
        values: dict[str, Any],
        list_items: Mapping[ListKey, Item],
        key: Callable[[str], str],
        now: float,
    ) -> None:
        self.values = values
        self.value: Callable[[str], Any] = values.get
        self._items = list_items
        self._key = key
        self._keys: dict[str, str] = {}
        self._now = now

    def in_list(self, list_name: str, value: str) -> bool:
        """Whether ``list_name`` holds ``value`` now (present and not expired)."""
        if not self._items:
            return False
        key = self._keys.get(value)
        if key is None:
            key = self._keys[value] = self._key(value)
        item = self._items.get((list_name, key))
        return item is not None and is_live(item.get("expires_at"), self._now)


class Explainer:
    """The values of ``context`` as explanations show them: formatted once per
    identifier, e-mail and IP addresses replaced by ``[redacted]``."""

    __slots__ = ("_context", "_shown")

    def __init__(self, context: RuleContext) -> None:
        self._context = context
        self._shown: dict[str, str] = {}

    def shown(self, name: str) -> str:
        """The text of identifier ``name``'s value."""
        text = self._shown.get(name)
        if text is None:
            value = self._context.value(name)
            if isinstance(value, str) and (name in PERSONAL_FIELDS or is_personal(value)):
                value = REDACTED
            text = self._shown[name] = format_value(value)
        return text


def metadata_values(metadata: Mapping[str, Any], prefix: str = "metadata") -> Iterator[tuple]:
    """Every ``metadata.<path>`` with its value, objects and their members alike."""
    for key, value in metadata.items():
        path = f"{prefix}.{key}"
        yield path, value
        if isinstance(value, Mapping):
            yield from metadata_values(value, path)


class ContextBuilder:
    """Builds the contexts of a rule set that reads ``identifiers``.

    Only what the rules read is copied: transaction fields, ``metadata`` paths, features
    and scores. ``anomaly_score`` is read from the features when the pipeline computes it
    (null otherwise), like any other feature.
    """

    def __init__(self, identifiers: frozenset[str], key: Callable[[str], str]) -> None:
        self._identifiers = identifiers
        self._fields = tuple(name for name in TRANSACTION_FIELDS if name in identifiers)
        self._metadata = any(name.startswith(METADATA_PREFIX) for name in identifiers)
        self._scores = "score" in identifiers or "risk_score" in identifiers
        self._feature_names: dict[str, str | None] = {}
        self._key = key

    def transaction_values(self, tx: Transaction) -> dict[str, Any]:
        """Identifiers that come from the transaction alone."""
        values = {name: getattr(tx, name) for name in self._fields}
        if self._metadata and tx.metadata:
            values.update(metadata_values(tx.metadata))
        return values

    def context(
        self,
        tx: Transaction,
        features: Mapping[str, float],
        score: float | None,
        list_items: Mapping[ListKey, Item],
        now: float,
    ) -> RuleContext:
        """The evaluation context of ``tx`` (``score`` ``None``: the scores are null)."""
        values = self.transaction_values(tx)
        known = self._feature_names
        for name, value in features.items():
            identifier = known.get(name, "")
            if identifier == "":
                identifier = known[name] = self._identifier(name)
            if identifier is not None:
                values[identifier] = value
        if self._scores and score is not None:
            values["score"] = score
            values["risk_score"] = risk_score(score)
        return RuleContext(values, list_items, self._key, now)

    def _identifier(self, feature_name: str) -> str | None:
        """The identifier a feature fills, ``None`` when no rule reads it or when it is a
        transaction field (``amount``: the transaction's own value wins)."""
        identifier = feature_identifier(feature_name)
        wanted = identifier in self._identifiers and identifier not in TRANSACTION_FIELDS
        return identifier if wanted else None
