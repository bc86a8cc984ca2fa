"""Store-independent descriptions of item reads and writes.

An ``ItemUpdate`` is what DynamoDB's ``UpdateItem`` can express without reading first:
``ADD`` to numbers, ``SET`` values, ``REMOVE`` attributes. Counting uses ``ADD`` only, so
updates from several transactions to one item merge by summing, and applying the same
update to an in-memory item gives what DynamoDB would store.

>>> item = {}
>>> apply_update(item, ItemUpdate("k", add={"c1": 1}, set={"x": 5}))
>>> apply_update(item, ItemUpdate("k", add={"c1": 2}, remove=frozenset({"x"})))
>>> item
{'c1': 3}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from types import MappingProxyType
from typing import Any, NamedTuple

Item = dict[str, Any]


class ItemUpdate(NamedTuple):
    """Changes to one state item, keyed by its partition key ``key``.

    ``add`` values are summed into numeric attributes (missing ones start at 0), ``set``
    values replace attributes, ``remove`` names attributes to delete. An attribute may
    appear in only one of the three.
    """

    key: str
    add: Mapping[str, float] = MappingProxyType({})
    set: Mapping[str, Any] = MappingProxyType({})
    remove: frozenset[str] = frozenset()

    def is_empty(self) -> bool:
        return not (self.add or self.set or self.remove)


def apply_update(item: MutableMapping[str, Any], update: ItemUpdate) -> None:
    """Apply ``update`` to ``item`` in place, as DynamoDB would."""
    for name, delta in update.add.items():
        item[name] = item.get(name, 0) + delta
    item.update(update.set)
    for name in update.remove:
        item.pop(name, None)


def merge_updates(updates: Iterable[ItemUpdate]) -> list[ItemUpdate]:
    """Combine updates to the same key into one with the effect of applying them in order.

    Per attribute: adds sum; an add after a set adds to the set value; an add after a
    remove starts from zero (becomes a set); a later set or remove replaces anything. An
    update whose key no other update names is returned as it is. Keys keep the order of
    their first update.

    >>> removal = ItemUpdate("k", remove=frozenset({"a"}))
    >>> [u] = merge_updates([ItemUpdate("k", add={"a": 1}), removal, ItemUpdate("k", add={"a": 2})])
    >>> (dict(u.add), dict(u.set), set(u.remove))
    ({}, {'a': 2}, set())
    """
    by_key: dict[str, list[ItemUpdate]] = {}
    for update in updates:
        by_key.setdefault(update.key, []).append(update)
    return [
        group[0] if len(group) == 1 else _merged(key, group) for key, group in by_key.items()
    ]


def _merged(key: str, updates: Iterable[ItemUpdate]) -> ItemUpdate:
    """The one update to ``key`` with the effect of ``updates`` applied in order."""
    ops: dict[str, tuple[str, Any]] = {}
    for update in updates:
        for name, delta in update.add.items():
            kind, value = ops.get(name, ("add", 0))
            if kind == "remove":
                ops[name] = ("set", delta)
            else:
                ops[name] = (kind, value + delta)
        for name, value in update.set.items():
            ops[name] = ("set", value)
        for name in update.remove:
            ops[name] = ("remove", None)
    return ItemUpdate(
        key,
        add={n: v for n, (k, v) in ops.items() if k == "add"},
        set={n: v for n, (k, v) in ops.items() if k == "set"},
        remove=frozenset(n for n, (k, _) in ops.items() if k == "remove"),
    )
