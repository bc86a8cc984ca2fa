"""What analysts do with lists: add items (one or many, with an optional expiry), remove
them, read them, and see who changed a list when.

Items are keyed by ``ListValues.key``: e-mail and IP addresses only as keyed hashes. An
expired item is no member (``is_live``) even before DynamoDB's TTL deletes it, so reads
leave it out unless asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.errors import NotFoundError
from chalicelib.rules.lists import (
    INVALID_LIST_ITEM,
    ListEntry,
    ListValues,
    check_list_name,
    check_value,
    is_live,
    parse_items,
)
from chalicelib.rules.store import ListChange, ListStore
from chalicelib.rules.validation import BodyValidationError, Problem
from chalicelib.state.store import ListKey
from chalicelib.state.updates import Item

LOGGED_KEYS = 10


@dataclass
class ListsService:
    """List use cases over a ``ListStore``.

    Parameters
    ----------
    store:
        Where items live.
    values:
        How values are keyed (personal ones hashed).
    clock:
        Now (aware datetime): expiry checks and change times.
    """

    store: ListStore
    values: ListValues
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def add(self, list_name: str, body: dict[str, Any], author: str) -> list[ListEntry]:
        """Add or replace the items of ``body`` (see ``lists.parse_items``)."""
        name = check_list_name(list_name)
        now = self.clock()
        items = parse_items(body, now.timestamp())
        entries = [
            ListEntry(
                key=(key := self.values.key(item.value)),
                value=item.value if key == item.value else None,
                expires_at=item.expires_at,
                added_at=now.isoformat(),
                added_by=author,
                note=item.note,
            )
            for item in items
        ]
        self.store.put(name, entries, self._change(name, "add", author, entries))
        return entries

    def remove(self, list_name: str, value: str, author: str) -> None:
        """Remove ``value`` (``NotFoundError`` when it is not on the list)."""
        name = check_list_name(list_name)
        key = self._key(value)
        change = ListChange(name, "remove", self.clock().isoformat(), author, 1, (key,))
        if not self.store.delete(name, key, change):
            raise NotFoundError(f"{value!r} is not on list {name}")

    def get(self, list_name: str, value: str) -> ListEntry:
        """The live item of ``value`` (``NotFoundError`` when absent or expired)."""
        name = check_list_name(list_name)
        entry = self.store.get(name, self._key(value))
        if entry is None or not is_live(entry.expires_at, self.clock().timestamp()):
            raise NotFoundError(f"{value!r} is not on list {name}")
        return entry

    def items(
        self, list_name: str, limit: int, after: str | None, include_expired: bool = False
    ) -> tuple[list[ListEntry], str | None]:
        """A page of items in key order (expired ones left out unless asked) and the key
        to continue after."""
        name = check_list_name(list_name)
        entries, last = self.store.page(name, limit, after)
        now = self.clock().timestamp()
        return [e for e in entries if include_expired or is_live(e.expires_at, now)], last

    def fetch(self, keys: Iterable[ListKey]) -> dict[ListKey, Item]:
        """Stored items by ``(list, stored key)``, as the scoring fetch returns them."""
        found = {}
        for name, key in keys:
            entry = self.store.get(name, key)
            if entry is not None:
                found[name, key] = entry.to_item()
        return found

    def changes(self, list_name: str, limit: int) -> list[ListChange]:
        """Who changed the list when, newest first."""
        return self.store.changes(check_list_name(list_name), limit)

    def _key(self, value: str) -> str:
        problems: list[Problem] = []
        checked = check_value(problems, "value", value)
        if checked is None:
            raise BodyValidationError(problems, INVALID_LIST_ITEM)
        return self.values.key(checked)

    def _change(self, name: str, op: str, author: str, entries: list[ListEntry]) -> ListChange:
        keys = tuple(entry.key for entry in entries[:LOGGED_KEYS])
        return ListChange(name, op, self.clock().isoformat(), author, len(entries), keys)
