"""In-memory ``RuleStore`` and ``ListStore``: DynamoDB's semantics, for tests, benchmarks
and offline tools."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence

from chalicelib.errors import ConcurrentUpdateError, NotFoundError
from chalicelib.rules.lists import ListEntry
from chalicelib.rules.store import ListChange, Revision, RuleSetVersion


class MemoryRuleStore:
    """Rule set versions in dictionaries; ``calls`` counts operations by name."""

    def __init__(self) -> None:
        self._head = 0
        self._versions: dict[int, RuleSetVersion] = {}
        self._revisions: dict[str, list[Revision]] = {}
        self.calls: Counter[str] = Counter()

    def head(self) -> int:
        self.calls["head"] += 1
        return self._head

    def read(self, version: int) -> RuleSetVersion:
        self.calls["read"] += 1
        if version not in self._versions:
            raise NotFoundError(f"rule set version {version} does not exist")
        return self._versions[version]

    def write(self, version: RuleSetVersion, new_revisions: Sequence[Revision]) -> None:
        self.calls["write"] += 1
        if version.version != self._head + 1:
            raise ConcurrentUpdateError(
                f"the rule set is no longer at version {version.version - 1}"
            )
        for revision in new_revisions:
            self._revisions.setdefault(revision.rule_id, []).append(revision)
        self._versions[version.version] = version
        self._head = version.version

    def versions(self, limit: int) -> list[RuleSetVersion]:
        newest = sorted(self._versions, reverse=True)[:limit]
        return [self._versions[number] for number in newest]

    def history(self, rule_id: str, limit: int) -> list[Revision]:
        return list(reversed(self._revisions.get(rule_id, [])))[:limit]


class MemoryListStore:
    """List items and change logs in dictionaries."""

    def __init__(self) -> None:
        self._items: dict[str, dict[str, ListEntry]] = {}
        self._changes: dict[str, list[ListChange]] = {}

    def put(self, list_name: str, entries: Sequence[ListEntry], change: ListChange) -> None:
        items = self._items.setdefault(list_name, {})
        items.update((entry.key, entry) for entry in entries)
        self._changes.setdefault(list_name, []).append(change)

    def get(self, list_name: str, key: str) -> ListEntry | None:
        return self._items.get(list_name, {}).get(key)

    def delete(self, list_name: str, key: str, change: ListChange) -> bool:
        if self._items.get(list_name, {}).pop(key, None) is None:
            return False
        self._changes.setdefault(list_name, []).append(change)
        return True

    def page(
        self, list_name: str, limit: int, after: str | None
    ) -> tuple[list[ListEntry], str | None]:
        items = self._items.get(list_name, {})
        keys = sorted(items)
        start = bisect.bisect_right(keys, after) if after is not None else 0
        chosen = keys[start : start + limit]
        more = start + limit < len(keys)
        return [items[key] for key in chosen], (chosen[-1] if more else None)

    def changes(self, list_name: str, limit: int) -> list[ListChange]:
        return list(reversed(self._changes.get(list_name, [])))[:limit]
