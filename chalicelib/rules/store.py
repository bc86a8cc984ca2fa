"""Storage of rule set versions and lists (implemented for DynamoDB and in memory).

Rule sets are versioned as a whole: version ``n`` is one item holding every rule (each
with the revision that last wrote it). A change writes the revisions of the rules it
touches (the per-rule history), version ``n + 1`` and moves the head from ``n`` to
``n + 1``, all in one atomic write that fails (``ConcurrentUpdateError``) when the head is
no longer ``n``. Nothing is ever rewritten, so any version can be read back and rolled
back to: a rollback is a new version holding an old one's rules.

Config table layout (``pk``, ``sk``)::

    ruleset         head             {"version": n}: the one small read of a refresh
    ruleset         v#0000000042     version 42: created_at, author, change, rules
    rule#<id>       v#0000000042     the rule as written in version 42 (or its deletion)
    list#<name>     <key>            a list item (value, expires_at = TTL, added_at, added_by)
    listlog#<name>  <time>#<random>  a list change: op, author, count, keys
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from chalicelib.rules.definitions import Rule, rule_from_dict
from chalicelib.rules.lists import ListEntry


class Revision(NamedTuple):
    """A rule as written in rule set version ``version``; ``rule`` ``None``: its deletion."""

    rule_id: str
    version: int
    created_at: str
    author: str
    rule: Rule | None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "rule_id": self.rule_id,
            "version": str(self.version),
            "created_at": self.created_at,
            "author": self.author,
            "deleted": self.rule is None,
        }
        if self.rule is not None:
            body["rule"] = self.rule.to_dict()
        return body

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> Revision:
        """Read back ``to_dict()`` (stored data: not validated again)."""
        rule = body.get("rule")
        return cls(
            rule_id=body["rule_id"],
            version=int(body["version"]),
            created_at=body["created_at"],
            author=body["author"],
            rule=rule_from_dict(rule) if rule is not None else None,
        )


@dataclass(frozen=True)
class RuleSetVersion:
    """One version of the rule set.

    Attributes
    ----------
    version:
        1, 2, ... (0: nothing was ever stored).
    created_at, author:
        When (ISO-8601) and by whom the version was made.
    change:
        What made it: ``{"op": "put" | "delete" | "import" | "rollback", ...}``.
    revisions:
        Rule id to the revision this version holds.
    """

    version: int
    created_at: str
    author: str
    change: Mapping[str, Any]
    revisions: Mapping[str, Revision] = field(default_factory=dict)

    @property
    def rules(self) -> list[Rule]:
        """The rules of this version, by rule id."""
        return [self.revisions[rid].rule for rid in sorted(self.revisions)]  # type: ignore[misc]

    def to_dict(self) -> dict[str, Any]:
        """The version with its rules (what is stored)."""
        return {**self.summary(), "rules": [r.to_dict() for _, r in sorted(self.revisions.items())]}

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> RuleSetVersion:
        """Read back ``to_dict()``."""
        revisions = [Revision.from_dict(r) for r in body.get("rules", [])]
        return cls(
            version=int(body["version"]),
            created_at=body["created_at"],
            author=body["author"],
            change=body["change"],
            revisions={r.rule_id: r for r in revisions},
        )

    def summary(self) -> dict[str, Any]:
        """The version without its rules (history listings)."""
        return {
            "version": str(self.version),
            "created_at": self.created_at,
            "author": self.author,
            "change": dict(self.change),
            "rules": len(self.revisions),
        }


EMPTY_VERSION = RuleSetVersion(0, "", "", {"op": "none"})


@dataclass(frozen=True)
class ListChange:
    """An audit record of a list change (``keys`` holds at most a few stored keys)."""

    list_name: str
    op: str
    at: str
    author: str
    count: int
    keys: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "list": self.list_name,
            "op": self.op,
            "at": self.at,
            "author": self.author,
            "count": self.count,
            "keys": list(self.keys),
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> ListChange:
        """Read back ``to_dict()``."""
        return cls(
            list_name=body["list"],
            op=body["op"],
            at=body["at"],
            author=body["author"],
            count=int(body["count"]),
            keys=tuple(body.get("keys", ())),
        )


class RuleStore(Protocol):
    """Versions of the rule set."""

    def head(self) -> int:
        """The current version (0 when none was ever written): one small read."""
        ...

    def read(self, version: int) -> RuleSetVersion:
        """Version ``version`` with its rules (``NotFoundError`` when it does not exist)."""
        ...

    def write(self, version: RuleSetVersion, new_revisions: Sequence[Revision]) -> None:
        """Store ``new_revisions`` and ``version`` and make it the head, atomically.

        Raises
        ------
        ConcurrentUpdateError
            The head is no longer ``version.version - 1`` (another change won).
        """
        ...

    def versions(self, limit: int) -> list[RuleSetVersion]:
        """The latest ``limit`` versions, newest first, without their revisions."""
        ...

    def history(self, rule_id: str, limit: int) -> list[Revision]:
        """The latest ``limit`` revisions of ``rule_id``, newest first."""
        ...


class ListStore(Protocol):
    """Items of the stored lists, and their change log."""

    def put(self, list_name: str, entries: Sequence[ListEntry], change: ListChange) -> None:
        """Add or replace ``entries`` and log ``change``."""
        ...

    def get(self, list_name: str, key: str) -> ListEntry | None:
        """The item stored under ``key``, or ``None``."""
        ...

    def delete(self, list_name: str, key: str, change: ListChange) -> bool:
        """Remove the item under ``key`` and log ``change``; ``False`` when it was absent."""
        ...

    def page(
        self, list_name: str, limit: int, after: str | None
    ) -> tuple[list[ListEntry], str | None]:
        """Up to ``limit`` items in key order after key ``after``, and the key to continue
        from (``None`` at the end)."""
        ...

    def changes(self, list_name: str, limit: int) -> list[ListChange]:
        """The latest ``limit`` changes of ``list_name``, newest first."""
        ...
