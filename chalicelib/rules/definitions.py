"""Rules as data: what an analyst stores, validated field by field.

A rule is an expression of the rule language plus what to do when it fires:

* ``action``: ``allow``, ``block``, ``review``, ``alert`` (an alert, no change of decision)
  or ``suspend`` (block, and put the transaction's customer, card or device on a block
  list for ``suspend.duration``);
* ``mode``: ``active`` (decides), ``shadow`` (evaluated and counted, never decides or
  suspends), ``disabled`` (skipped);
* ``priority``: 0 to 1000, higher first among rules of the same action.

>>> from chalicelib.rules.schema import Schema
>>> rule = parse_rule({"rule_id": "big", "expression": "amount > 1000", "action": "review"},
...                   Schema.for_transaction([]))
>>> rule.to_dict()["mode"], rule.priority
('active', 100)
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from chalicelib.rules.errors import RuleError
from chalicelib.rules.language import compile_expression
from chalicelib.rules.limits import (
    MAX_DESCRIPTION_LENGTH,
    MAX_PRIORITY,
    MAX_RULE_ID_LENGTH,
    MAX_SUSPENSION_SECONDS,
    MIN_PRIORITY,
    MIN_SUSPENSION_SECONDS,
)
from chalicelib.rules.lists import LIST_NAME_PATTERN
from chalicelib.rules.schema import Schema
from chalicelib.rules.validation import (
    BodyValidationError,
    Problem,
    check_choice,
    check_fields,
    check_integer,
    check_text,
    raise_problems,
)

Action = Literal["allow", "block", "review", "alert", "suspend"]
Mode = Literal["active", "shadow", "disabled"]
ACTIONS: tuple[Action, ...] = ("allow", "block", "review", "alert", "suspend")
MODES: tuple[Mode, ...] = ("active", "shadow", "disabled")
DEFAULT_PRIORITY = 100
RULE_FIELDS = ("rule_id", "expression", "action", "priority", "mode", "description", "suspend")
SUSPEND_FIELDS = ("target", "duration", "list")
# What a suspension may target, and the list it goes on unless the rule names another.
SUSPEND_TARGETS: Mapping[str, str] = {
    "customer_id": "suspended_customers",
    "card_id": "suspended_cards",
    "device_id": "suspended_devices",
}
RULE_ID_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_RULE_ID_LENGTH - 1}}}")
# Path words of /v1/rules/... that cannot be rule ids.
RESERVED_RULE_IDS = frozenset({"versions", "rollback", "import", "test"})
DURATION_PATTERN = re.compile(r"([1-9][0-9]{0,8})([smhd])")
UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
INVALID_RULE = "invalid_rule"


class Suspension(NamedTuple):
    """What a ``suspend`` rule puts on a block list: ``target``'s value, for ``seconds``."""

    target: str
    seconds: int
    list_name: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "duration": format_duration(self.seconds),
            "list": self.list_name,
        }


class Rule(NamedTuple):
    """A validated rule (its expression compiles against the schema it was checked with)."""

    rule_id: str
    expression: str
    action: Action
    priority: int = DEFAULT_PRIORITY
    mode: Mode = "active"
    description: str = ""
    suspend: Suspension | None = None

    def to_dict(self) -> dict[str, Any]:
        """The rule as the API shows it (and as ``parse_rule`` reads it back)."""
        body: dict[str, Any] = {
            "rule_id": self.rule_id,
            "expression": self.expression,
            "action": self.action,
            "priority": self.priority,
            "mode": self.mode,
            "description": self.description,
        }
        if self.suspend is not None:
            body["suspend"] = self.suspend.to_dict()
        return body


def format_duration(seconds: int) -> str:
    """The shortest exact spelling of ``seconds``: ``86400`` is ``1d``, ``90`` is ``90s``."""
    unit, size = next((u, size) for u, size in UNIT_SECONDS.items() if seconds % size == 0)
    return f"{seconds // size}{unit}"


def new_rule_id() -> str:
    """A fresh id for a rule created without one."""
    return f"rule-{uuid.uuid4().hex[:12]}"


def parse_rule(body: Any, schema: Schema, *, rule_id: str | None = None) -> Rule:
    """Validate a rule body and compile its expression against ``schema``.

    Parameters
    ----------
    body:
        Decoded JSON: ``expression`` and ``action`` required; ``rule_id``, ``priority``
        (default 100), ``mode`` (default ``active``), ``description`` optional;
        ``suspend`` (``target``, ``duration`` such as ``"24h"`` or seconds, optional
        ``list``) required for ``suspend`` rules and refused for others.
    schema:
        What the expression may read.
    rule_id:
        The id from the request path: the body's must be absent or equal. Without either,
        a new id is generated.

    Raises
    ------
    BodyValidationError
        Naming every bad field; an invalid expression adds the language error's position
        and expectation (``RuleError.to_dict()``).
    """
    if not isinstance(body, Mapping):
        raise BodyValidationError([Problem("body", "must be a JSON object")], INVALID_RULE)
    problems: list[Problem] = []
    check_fields(problems, body, RULE_FIELDS)
    final_id = _rule_id(problems, body.get("rule_id"), rule_id)
    expression, expression_error = _expression(problems, body.get("expression"), schema)
    action = check_choice(problems, "action", body.get("action"), ACTIONS)
    priority = check_integer(
        problems, "priority", body.get("priority", DEFAULT_PRIORITY), MIN_PRIORITY, MAX_PRIORITY
    )
    mode = check_choice(problems, "mode", body.get("mode", "active"), MODES)
    description = check_text(
        problems, "description", body.get("description", ""), MAX_DESCRIPTION_LENGTH
    )
    suspend = _suspension(problems, body.get("suspend"), action)
    raise_problems(problems, INVALID_RULE, expression_error)
    return Rule(
        rule_id=final_id,
        expression=expression,
        action=action,  # type: ignore[arg-type]
        priority=priority,  # type: ignore[arg-type]
        mode=mode,  # type: ignore[arg-type]
        description=description or "",
        suspend=suspend,
    )


def rule_id_problem(value: Any) -> str | None:
    """What is wrong with ``value`` as a rule id, or ``None`` when it is a valid one."""
    if not isinstance(value, str) or not RULE_ID_PATTERN.fullmatch(value):
        return (
            f"must be 1-{MAX_RULE_ID_LENGTH} characters of A-Z a-z 0-9 _ . -, "
            "starting with a letter or digit"
        )
    if value in RESERVED_RULE_IDS:
        return f"{value!r} is reserved"
    return None


def rule_from_dict(body: Mapping[str, Any]) -> Rule:
    """Read back ``Rule.to_dict()`` of a stored rule (validated when it was written)."""
    suspend = body.get("suspend")
    return Rule(
        rule_id=body["rule_id"],
        expression=body["expression"],
        action=body["action"],
        priority=int(body["priority"]),
        mode=body["mode"],
        description=body.get("description", ""),
        suspend=(
            Suspension(suspend["target"], duration_seconds(suspend["duration"]), suspend["list"])
            if suspend is not None
            else None
        ),
    )


def duration_seconds(text: str) -> int:
    """Seconds of a ``format_duration`` spelling (``"1d"`` is 86400)."""
    return int(text[:-1]) * UNIT_SECONDS[text[-1]]


def _rule_id(problems: list[Problem], given: Any, from_path: str | None) -> str:
    for value in (from_path, given):
        message = None if value is None else rule_id_problem(value)
        if message is not None:
            problems.append(Problem("rule_id", message))
            return ""
    if from_path is not None and given is not None and given != from_path:
        problems.append(Problem("rule_id", "must be absent or equal to the id in the path"))
    return from_path or given or new_rule_id()


def _expression(problems: list[Problem], text: Any, schema: Schema) -> tuple[str, RuleError | None]:
    if not isinstance(text, str):
        problems.append(Problem("expression", "is required (text of the rule language)"))
        return "", None
    try:
        compile_expression(text, schema)
    except RuleError as error:
        details = {k: v for k, v in error.to_dict().items() if k not in ("message",)}
        problems.append(Problem("expression", str(error), details))
        return text, error
    return text, None


def _suspension(problems: list[Problem], value: Any, action: str | None) -> Suspension | None:
    if action != "suspend":
        if value is not None:
            problems.append(Problem("suspend", "is only for rules whose action is 'suspend'"))
        return None
    if not isinstance(value, Mapping):
        problems.append(
            Problem("suspend", "is required: {'target', 'duration'[, 'list']} for a suspend rule")
        )
        return None
    check_fields(problems, value, SUSPEND_FIELDS, prefix="suspend.")
    target = check_choice(problems, "suspend.target", value.get("target"), tuple(SUSPEND_TARGETS))
    seconds = parse_duration(problems, "suspend.duration", value.get("duration"))
    list_name = value.get("list", SUSPEND_TARGETS.get(target or "", ""))
    if not isinstance(list_name, str) or not LIST_NAME_PATTERN.fullmatch(list_name):
        problems.append(Problem("suspend.list", "must be a list name (letters, digits, _)"))
        return None
    if target is None or seconds is None:
        return None
    return Suspension(target, seconds, list_name)


def parse_duration(problems: list[Problem], name: str, value: Any) -> int | None:
    """Seconds of a duration given as ``"30m"``, ``"24h"``, ``"7d"`` or a number of seconds,
    within the suspension bounds; otherwise a problem and ``None``."""
    seconds: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and DURATION_PATTERN.fullmatch(value):
        seconds = duration_seconds(value)
    if seconds is not None and MIN_SUSPENSION_SECONDS <= seconds <= MAX_SUSPENSION_SECONDS:
        return seconds
    problems.append(
        Problem(
            name,
            f"must be a duration such as '30m', '24h' or '7d' (or seconds), from "
            f"{format_duration(MIN_SUSPENSION_SECONDS)} to "
            f"{format_duration(MAX_SUSPENSION_SECONDS)}",
        )
    )
    return None
