"""What analysts do with rules: read, create, replace, delete, import, roll back, test.

Every change makes a new rule set version (time, author, what changed) through an
optimistic write: read the head, compute the next version, write it only if the head has
not moved, retry from a fresh read otherwise. A change that changes nothing makes no
version. The rule set's limits (``chalicelib.rules.limits``) are checked on the result.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.errors import ConcurrentUpdateError, FraudServiceError, NotFoundError
from chalicelib.rules.definitions import INVALID_RULE, Rule, parse_rule
from chalicelib.rules.errors import RuleError
from chalicelib.rules.language import compile_expression
from chalicelib.rules.limits import (
    MAX_LIST_LOOKUPS,
    MAX_REVISIONS_PER_VERSION,
    MAX_RULE_SET_BYTES,
    MAX_RULES,
)
from chalicelib.rules.schema import Schema
from chalicelib.rules.store import EMPTY_VERSION, Revision, RuleSetVersion, RuleStore
from chalicelib.rules.validation import BodyValidationError, Problem, raise_problems

MAX_CHANGE_ATTEMPTS = 5
IMPORT_FIELDS = ("rules", "replace")

Edit = Callable[[RuleSetVersion, int, str], tuple[dict[str, Revision], list[Revision]]]


class RuleExistsError(ConcurrentUpdateError):
    """A rule with this id already exists (HTTP 409; ``PUT`` replaces one)."""


class RuleSetError(FraudServiceError):
    """The change would leave a rule set beyond its limits, or holding a rule that no
    longer compiles (HTTP 400)."""

    def to_dict(self) -> dict[str, Any]:
        return {"error": "invalid_rule_set", "message": str(self)}


def rules_version(version: int) -> str:
    """``rules_version`` as decisions and ``/v1/health`` show it (``none`` before any)."""
    return str(version) if version else "none"


def check_rule_set(rules: Sequence[Rule], schema: Schema) -> None:
    """Raise ``RuleSetError`` unless every rule compiles against ``schema`` and the rule
    set keeps its limits (rules, list lookups, bytes)."""
    if len(rules) > MAX_RULES:
        raise RuleSetError(f"a rule set holds at most {MAX_RULES} rules ({len(rules)})")
    lookups = 0
    for rule in rules:
        try:
            compiled = compile_expression(rule.expression, schema)
        except RuleError as error:
            raise RuleSetError(
                f"rule {rule.rule_id} no longer compiles ({error}); fix or delete it first"
            ) from error
        lookups += compiled.lookup_count if rule.mode != "disabled" else 0
    if lookups > MAX_LIST_LOOKUPS:
        raise RuleSetError(
            f"the enabled rules make {lookups} list lookups per transaction; "
            f"at most {MAX_LIST_LOOKUPS}"
        )
    size = len(json.dumps([r.to_dict() for r in rules]).encode())
    if size > MAX_RULE_SET_BYTES:
        raise RuleSetError(f"the rule set takes {size} bytes; at most {MAX_RULE_SET_BYTES}")


@dataclass
class RulesService:
    """Rule set use cases over a ``RuleStore``.

    Parameters
    ----------
    store:
        Where versions live.
    schema:
        What expressions may read (the scoring path's schema).
    clock:
        Now (aware datetime).
    on_change:
        Called after each new version (the running function's provider refreshes).
    """

    store: RuleStore
    schema: Schema
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    on_change: Callable[[], None] = field(default=lambda: None)

    # -- reads ----------------------------------------------------------------------
    def current(self) -> RuleSetVersion:
        """The rule set in force (``EMPTY_VERSION`` before the first change)."""
        head = self.store.head()
        return self.store.read(head) if head else EMPTY_VERSION

    def version(self, number: int) -> RuleSetVersion:
        """Version ``number`` (``NotFoundError`` when it does not exist)."""
        return self.store.read(number)

    def get(self, rule_id: str) -> Revision:
        """The current revision of ``rule_id`` (``NotFoundError`` when absent)."""
        revision = self.current().revisions.get(rule_id)
        if revision is None:
            raise NotFoundError(f"rule {rule_id} does not exist")
        return revision

    def versions(self, limit: int) -> list[RuleSetVersion]:
        return self.store.versions(limit)

    def history(self, rule_id: str, limit: int) -> list[Revision]:
        """Revisions of ``rule_id``, newest first (``NotFoundError`` when there are none)."""
        revisions = self.store.history(rule_id, limit)
        if not revisions:
            raise NotFoundError(f"rule {rule_id} has no history")
        return revisions

    # -- changes --------------------------------------------------------------------
    def create(self, body: Any, author: str) -> tuple[Revision, RuleSetVersion]:
        """Add a new rule (``RuleExistsError`` when its id is taken)."""
        rule = parse_rule(body, self.schema)

        def edit(current: RuleSetVersion, number: int, now: str) -> _Changed:
            if rule.rule_id in current.revisions:
                raise RuleExistsError(f"rule {rule.rule_id} exists; PUT replaces it")
            return _with(current, Revision(rule.rule_id, number, now, author, rule))

        version = self._change(edit, author, {"op": "create", "rule_id": rule.rule_id})
        return version.revisions[rule.rule_id], version

    def put(self, rule_id: str, body: Any, author: str) -> tuple[Revision, RuleSetVersion]:
        """Create or replace rule ``rule_id``."""
        rule = parse_rule(body, self.schema, rule_id=rule_id)

        def edit(current: RuleSetVersion, number: int, now: str) -> _Changed:
            return _with(current, Revision(rule_id, number, now, author, rule))

        version = self._change(edit, author, {"op": "put", "rule_id": rule_id})
        return version.revisions[rule_id], version

    def delete(self, rule_id: str, author: str) -> RuleSetVersion:
        """Remove rule ``rule_id`` (``NotFoundError`` when absent)."""

        def edit(current: RuleSetVersion, number: int, now: str) -> _Changed:
            if rule_id not in current.revisions:
                raise NotFoundError(f"rule {rule_id} does not exist")
            revisions = {k: v for k, v in current.revisions.items() if k != rule_id}
            return revisions, [Revision(rule_id, number, now, author, None)]

        return self._change(edit, author, {"op": "delete", "rule_id": rule_id})

    def rollback(self, number: int, author: str) -> RuleSetVersion:
        """A new version holding the rules of version ``number``."""
        target = self.store.read(number)

        def edit(current: RuleSetVersion, _: int, __: str) -> _Changed:
            return dict(target.revisions), []

        return self._change(edit, author, {"op": "rollback", "to_version": str(number)})

    def import_rules(self, body: Any, author: str) -> list[RuleSetVersion]:
        """Add or replace many rules: ``{"rules": [...], "replace": false}``. With
        ``replace``, rules not in the import are deleted. At most
        ``MAX_REVISIONS_PER_VERSION`` revisions go in one version; a larger import makes
        several consecutive versions (deletions in the last)."""
        rules, replace = _parse_import(body, self.schema)
        current = self.current()
        changed = [r for r in rules if _rule_of(current, r.rule_id) != r]
        kept = {r.rule_id for r in rules}
        removed = sorted(rid for rid in current.revisions if rid not in kept) if replace else []
        parts = [
            changed[start : start + MAX_REVISIONS_PER_VERSION]
            for start in range(0, len(changed), MAX_REVISIONS_PER_VERSION)
        ] or [[]]
        versions = []
        for index, part in enumerate(parts):
            deletions = removed if index == len(parts) - 1 else []
            if not part and not deletions:
                continue

            def edit(
                current: RuleSetVersion,
                number: int,
                now: str,
                part: list[Rule] = part,
                deletions: list[str] = deletions,
            ) -> _Changed:
                revisions = dict(current.revisions)
                new = [Revision(r.rule_id, number, now, author, r) for r in part]
                new += [Revision(rid, number, now, author, None) for rid in deletions]
                for revision in new:
                    if revision.rule is None:
                        revisions.pop(revision.rule_id, None)
                    else:
                        revisions[revision.rule_id] = revision
                return revisions, new

            change = {"op": "import", "part": index + 1, "parts": len(parts), "rules": len(part)}
            versions.append(self._change(edit, author, {**change, "deleted": len(deletions)}))
        return versions

    def _change(self, edit: Edit, author: str, change: Mapping[str, Any]) -> RuleSetVersion:
        for _ in range(MAX_CHANGE_ATTEMPTS):
            current = self.current()
            number = current.version + 1
            now = self.clock().isoformat()
            revisions, new = edit(current, number, now)
            if _same_rules(revisions, current.revisions):
                return current
            check_rule_set([r.rule for r in revisions.values() if r.rule], self.schema)
            version = RuleSetVersion(number, now, author, dict(change), revisions)
            try:
                self.store.write(version, new)
            except ConcurrentUpdateError:
                continue
            self.on_change()
            return version
        raise ConcurrentUpdateError("the rule set keeps changing; retry later")


_Changed = tuple[dict[str, Revision], list[Revision]]


def _with(current: RuleSetVersion, revision: Revision) -> _Changed:
    """``current``'s revisions with ``revision`` in place (none new when its rule is the
    same as the current one)."""
    if _rule_of(current, revision.rule_id) == revision.rule:
        return dict(current.revisions), []
    return {**current.revisions, revision.rule_id: revision}, [revision]


def _rule_of(version: RuleSetVersion, rule_id: str) -> Rule | None:
    revision = version.revisions.get(rule_id)
    return revision.rule if revision else None


def _same_rules(a: Mapping[str, Revision], b: Mapping[str, Revision]) -> bool:
    return a.keys() == b.keys() and all(a[k].rule == b[k].rule for k in a)


def _parse_import(body: Any, schema: Schema) -> tuple[list[Rule], bool]:
    problems: list[Problem] = []
    if not isinstance(body, Mapping):
        raise BodyValidationError([Problem("body", "must be a JSON object")], INVALID_RULE)
    problems += [Problem(name, "unknown field") for name in sorted(set(body) - set(IMPORT_FIELDS))]
    raw = body.get("rules")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_RULES:
        problems.append(Problem("rules", f"must be a list of 1 to {MAX_RULES} rules"))
        raw = []
    replace = body.get("replace", False)
    if not isinstance(replace, bool):
        problems.append(Problem("replace", "must be true or false"))
    rules = []
    for index, entry in enumerate(raw):
        prefix = f"rules[{index}]."
        if isinstance(entry, Mapping) and "rule_id" not in entry:
            problems.append(Problem(prefix + "rule_id", "is required in an import"))
            continue
        try:
            rules.append(parse_rule(entry, schema))
        except BodyValidationError as error:
            problems += [Problem(prefix + p.field, p.message, p.details) for p in error.problems]
    ids = [r.rule_id for r in rules]
    problems += [
        Problem("rules", f"rule id {rid!r} appears more than once")
        for rid in sorted({rid for rid in ids if ids.count(rid) > 1})
    ]
    raise_problems(problems, INVALID_RULE)
    return rules, bool(replace)
