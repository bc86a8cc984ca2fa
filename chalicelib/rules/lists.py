"""Stored lists (``@name`` in expressions): items, their expiry, and how values are kept.

An item is a value with an optional expiry (``expires_at``, UTC epoch seconds, also the
config table's TTL attribute). DynamoDB deletes expired items lazily (within days), so an
item counts as a member only while ``expires_at`` is in the future: ``is_live``.

Values that are e-mail or IP addresses are personal data: they are stored as keyed hashes
(``hash:<hex>``, the same HMAC as decisions use) and never in clear; lookups hash the
transaction's value the same way, so ``lower(email) in @blocked_emails`` still matches.

>>> is_personal("a@b.co"), is_personal("10.0.0.1"), is_personal("cust_42")
(True, True, False)
>>> is_live(100, now=99.5), is_live(100, now=100), is_live(None, now=100)
(True, False, True)
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from chalicelib.identifiers import IdentifierHasher
from chalicelib.rules.limits import (
    MAX_DESCRIPTION_LENGTH,
    MAX_IDENTIFIER_LENGTH,
    MAX_LIST_ITEMS_PER_REQUEST,
    MAX_LIST_VALUE_LENGTH,
)
from chalicelib.rules.validation import (
    BodyValidationError,
    Problem,
    check_fields,
    check_text,
    raise_problems,
)
from chalicelib.rules.values import list_key
from chalicelib.transaction import EMAIL_PATTERN

LIST_NAME_PATTERN = re.compile(rf"[A-Za-z_][A-Za-z0-9_]{{0,{MAX_IDENTIFIER_LENGTH - 1}}}")
HASH_PREFIX = "hash:"
ITEM_FIELDS = ("value", "expires_at", "note")
MAX_EXPIRY_SECONDS = 10 * 366 * 86_400
INVALID_LIST_ITEM = "invalid_list_item"

Item = dict[str, Any]


def is_personal(value: str) -> bool:
    """Whether ``value`` is an e-mail or IP address (stored hashed, shown redacted)."""
    if "@" in value:
        return EMAIL_PATTERN.fullmatch(value) is not None
    if value[:1].isdigit() or ":" in value:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return False
        return True
    return False


def is_live(expires_at: float | None, now: float) -> bool:
    """Whether an item expiring at ``expires_at`` (``None``: never) is a member at ``now``
    (both UTC epoch seconds)."""
    return expires_at is None or expires_at > now


class ListValues:
    """How values are keyed in storage: as they are, personal ones as keyed hashes."""

    def __init__(self, hasher: IdentifierHasher) -> None:
        self._hasher = hasher

    def key(self, value: str) -> str:
        """The stored key (DynamoDB sort key) of ``value``."""
        return HASH_PREFIX + self._hasher.digest(value) if is_personal(value) else value


@dataclass(frozen=True)
class ListEntry:
    """One stored item of a list.

    Attributes
    ----------
    key:
        The stored key: the value, or ``hash:<hex>`` for a personal value.
    value:
        The value in clear, ``None`` when only its hash is stored.
    expires_at:
        UTC epoch seconds after which it no longer counts (``None``: never).
    added_at, added_by:
        When (ISO-8601) and by whom (an IAM principal, ``rule:<rule_id>`` for a suspension).
    note:
        Free text (why it is listed).
    source:
        For suspensions: ``rule_id``, ``rule_version`` and ``transaction_id``.
    """

    key: str
    value: str | None
    expires_at: int | None
    added_at: str
    added_by: str
    note: str = ""
    source: Mapping[str, Any] = field(default_factory=dict)

    def to_item(self) -> Item:
        """Storage attributes (without the table keys)."""
        item: Item = {"added_at": self.added_at, "added_by": self.added_by, **self.source}
        if self.value is not None:
            item["value"] = self.value
        if self.expires_at is not None:
            item["expires_at"] = self.expires_at
        if self.note:
            item["note"] = self.note
        return item

    @classmethod
    def from_item(cls, key: str, item: Mapping[str, Any]) -> ListEntry:
        known = {"value", "expires_at", "added_at", "added_by", "note", "pk", "sk"}
        return cls(
            key=key,
            value=item.get("value"),
            expires_at=item.get("expires_at"),
            added_at=item.get("added_at", ""),
            added_by=item.get("added_by", "unknown"),
            note=item.get("note", ""),
            source={k: v for k, v in item.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        """The item as the API shows it (``expires_at`` as ISO-8601)."""
        return {
            "value": self.value,
            "key": self.key,
            "hashed": self.value is None,
            "expires_at": iso_time(self.expires_at) if self.expires_at is not None else None,
            "added_at": self.added_at,
            "added_by": self.added_by,
            "note": self.note,
            **self.source,
        }


class NewItem(NamedTuple):
    """A validated item of a request: ``value`` in clear, ``expires_at`` epoch seconds."""

    value: str
    expires_at: int | None
    note: str = ""


def iso_time(epoch_seconds: float) -> str:
    """UTC epoch seconds as ISO-8601 (``2025-03-14T12:00:00+00:00``)."""
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat()


def check_list_name(name: Any) -> str:
    """``name`` when it is a valid list name (what follows ``@`` in an expression).

    Raises
    ------
    BodyValidationError
        It is not (field ``name``).
    """
    if isinstance(name, str) and LIST_NAME_PATTERN.fullmatch(name):
        return name
    message = f"must be 1-{MAX_IDENTIFIER_LENGTH} of A-Z a-z 0-9 _, not starting with a digit"
    raise BodyValidationError([Problem("name", message)], INVALID_LIST_ITEM)


def check_value(problems: list[Problem], name: str, value: Any) -> str | None:
    """A list value: text (or a number, kept in its canonical spelling) of at most
    ``MAX_LIST_VALUE_LENGTH`` printable characters."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = list_key(value)
    return check_text(problems, name, value, MAX_LIST_VALUE_LENGTH, required=True)


def parse_expiry(problems: list[Problem], name: str, value: Any, now: float) -> int | None:
    """``expires_at`` as epoch seconds: ISO-8601 (naive is UTC) or a number of seconds,
    in the future and at most ten years ahead; ``None`` when absent."""
    if value is None:
        return None
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            stamp = None
        if stamp is not None:
            seconds = (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
    if seconds is not None and now < seconds <= now + MAX_EXPIRY_SECONDS:
        return int(seconds)
    message = "must be an ISO-8601 time or epoch seconds, in the future (ten years at most)"
    problems.append(Problem(name, message))
    return None


def parse_items(body: Mapping[str, Any], now: float) -> list[NewItem]:
    """Items of a ``POST /v1/lists/{name}/items`` body: one item (``value``, optional
    ``expires_at`` and ``note``) or ``{"items": [...]}`` of up to
    ``MAX_LIST_ITEMS_PER_REQUEST``.

    Raises
    ------
    BodyValidationError
        Naming every bad field (``items[3].expires_at``).
    """
    problems: list[Problem] = []
    if "items" in body:
        check_fields(problems, body, ("items",))
        raw = body["items"]
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_LIST_ITEMS_PER_REQUEST:
            problems.append(
                Problem("items", f"must be a list of 1 to {MAX_LIST_ITEMS_PER_REQUEST} items")
            )
            raw = []
        prefixes = [f"items[{index}]." for index in range(len(raw))]
    else:
        raw, prefixes = [body], [""]
    items = []
    for entry, prefix in zip(raw, prefixes, strict=True):
        if not isinstance(entry, Mapping):
            problems.append(Problem(prefix.rstrip("."), "must be an object"))
            continue
        check_fields(problems, entry, ITEM_FIELDS, prefix)
        value = check_value(problems, prefix + "value", entry.get("value"))
        expires_at = parse_expiry(problems, prefix + "expires_at", entry.get("expires_at"), now)
        note = check_text(problems, prefix + "note", entry.get("note", ""), MAX_DESCRIPTION_LENGTH)
        if value is not None:
            items.append(NewItem(value, expires_at, note or ""))
    raise_problems(problems, INVALID_LIST_ITEM)
    return items
