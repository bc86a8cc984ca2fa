"""The identifiers an expression may read, and their types.

A ``Schema`` maps each identifier (``amount``, ``customer.nb_tx_1d``) to a ``Field``: its
``Type`` and whether its value comes from the transaction alone (``from_transaction``),
which is what an ``in @list`` lookup may use. A name ending in ``.*`` is a wildcard prefix
(``metadata.*`` matches ``metadata.channel`` and ``metadata.device.os``).

>>> schema = Schema.for_transaction(["customer_nb_tx_1d", "terminal_risk_7d"])
>>> schema.get("customer.nb_tx_1d"), schema.get("metadata.anything").type
(Field(type=<Type.NUMBER: 'number'>, from_transaction=False), <Type.ANY: 'any'>)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import NamedTuple

from chalicelib.errors import ConfigurationError
from chalicelib.rules.limits import MAX_IDENTIFIER_LENGTH


class Type(StrEnum):
    """Static type of a value. ``ANY`` is checked at run time; ``NULL`` is the null literal's."""

    NUMBER = "number"
    STRING = "string"
    BOOL = "boolean"
    TIMESTAMP = "timestamp"
    ANY = "any"
    NULL = "null"


class Field(NamedTuple):
    """One identifier's type; ``from_transaction`` when the transaction alone gives its value."""

    type: Type
    from_transaction: bool = False


IDENTIFIER_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
WILDCARD_SUFFIX = ".*"

TRANSACTION_FIELDS: Mapping[str, Type] = {
    "transaction_id": Type.STRING,
    "timestamp": Type.TIMESTAMP,
    "amount": Type.NUMBER,
    "currency": Type.STRING,
    "customer_id": Type.STRING,
    "terminal_id": Type.STRING,
    "card_id": Type.STRING,
    "merchant_id": Type.STRING,
    "merchant_category": Type.STRING,
    "channel": Type.STRING,
    "country": Type.STRING,
    "ip_address": Type.STRING,
    "device_id": Type.STRING,
    "email": Type.STRING,
}
METADATA_WILDCARD = "metadata" + WILDCARD_SUFFIX
SCORES = ("score", "risk_score", "anomaly_score")
FEATURE_ENTITIES = frozenset(("customer", "terminal", "card", "device", "merchant"))


def feature_identifier(feature_name: str) -> str:
    """Identifier under which rules see a feature: its entity prefix becomes a dotted path.

    >>> feature_identifier("customer_nb_tx_1d"), feature_identifier("is_night")
    ('customer.nb_tx_1d', 'is_night')
    """
    entity, _, rest = feature_name.partition("_")
    return f"{entity}.{rest}" if entity in FEATURE_ENTITIES and rest else feature_name


class Schema:
    """Identifiers an expression may read, each with its ``Field``.

    Parameters
    ----------
    fields:
        Identifier (or ``prefix.*`` wildcard) to field. Exact names win over wildcards; of
        two wildcards, the longer prefix wins.

    Raises
    ------
    ConfigurationError
        A name is not a (dotted) identifier of at most ``MAX_IDENTIFIER_LENGTH`` characters,
        or a field has type ``NULL``.
    """

    __slots__ = ("_exact", "_prefixes")

    def __init__(self, fields: Mapping[str, Field]) -> None:
        exact: dict[str, Field] = {}
        prefixes: list[tuple[str, Field]] = []
        for name, field in fields.items():
            bare = name.removesuffix(WILDCARD_SUFFIX)
            if not IDENTIFIER_PATTERN.fullmatch(bare) or len(name) > MAX_IDENTIFIER_LENGTH:
                raise ConfigurationError(f"schema: {name!r} is not a valid identifier")
            if field.type is Type.NULL:
                raise ConfigurationError(f"schema: {name!r} cannot have type null")
            if name.endswith(WILDCARD_SUFFIX):
                prefixes.append((bare + ".", field))
            else:
                exact[name] = field
        self._exact = exact
        self._prefixes = tuple(sorted(prefixes, key=lambda item: -len(item[0])))

    @classmethod
    def for_transaction(cls, feature_names: Iterable[str]) -> Schema:
        """The default schema: transaction fields, features, scores and ``metadata.*``.

        Parameters
        ----------
        feature_names:
            Feature names as the feature pipeline spells them (``customer_nb_tx_1d``); each
            is a number seen as ``feature_identifier(name)``. A feature named like a
            transaction field or a score (``amount``) is that field.
        """
        fields: dict[str, Field] = {}
        for feature in feature_names:
            fields[feature_identifier(feature)] = Field(Type.NUMBER)
        fields.update((name, Field(Type.NUMBER)) for name in SCORES)
        fields.update(
            (name, Field(type_, from_transaction=True))
            for name, type_ in TRANSACTION_FIELDS.items()
        )
        fields[METADATA_WILDCARD] = Field(Type.ANY, from_transaction=True)
        return cls(fields)

    def get(self, identifier: str) -> Field | None:
        """The field of ``identifier``, or ``None`` when the schema does not know it."""
        field = self._exact.get(identifier)
        if field is not None:
            return field
        for prefix, wildcard in self._prefixes:
            if identifier.startswith(prefix):
                return wildcard
        return None

    def names(self) -> tuple[str, ...]:
        """Every name of the schema, wildcards spelled ``prefix.*``, sorted."""
        wildcards = (prefix + "*" for prefix, _ in self._prefixes)
        return tuple(sorted((*self._exact, *wildcards)))
