"""Validation of request bodies for rules and lists: every bad field named at once.

Checkers append a ``Problem`` to a list instead of raising, so that one answer names every
offending field; ``raise_problems`` then raises ``BodyValidationError`` (HTTP 400).

>>> problems = []
>>> check_choice(problems, "mode", "loud", ("active", "shadow"))
>>> problems[0].message
"must be one of 'active', 'shadow'"
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from chalicelib.errors import FraudServiceError
from chalicelib.rules.errors import RuleError


class Problem(NamedTuple):
    """One offending field (``suspend.duration``, ``items[3].value``) and what is wrong."""

    field: str
    message: str
    details: Mapping[str, Any] = MappingProxyType({})

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, **self.details}


class BodyValidationError(FraudServiceError):
    """A rule or list body breaks its contract; ``problems`` names every bad field.

    When the expression is invalid, ``expression_error`` is the language's error and the
    HTTP body carries its code, position and expectation at the top level.
    """

    def __init__(
        self, problems: list[Problem], code: str, expression_error: RuleError | None = None
    ) -> None:
        self.problems = problems
        self.code = code
        self.expression_error = expression_error
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))

    def to_dict(self) -> dict[str, Any]:
        """JSON body of the HTTP 400 answer."""
        body: dict[str, Any] = {"error": self.code, "message": str(self)}
        if self.expression_error is not None:
            body.update(self.expression_error.to_dict())
            body["message"] = str(self)
        body["fields"] = [problem.to_dict() for problem in self.problems]
        return body


def raise_problems(
    problems: list[Problem], code: str, expression_error: RuleError | None = None
) -> None:
    """Raise ``BodyValidationError`` when ``problems`` is not empty."""
    if problems:
        raise BodyValidationError(problems, code, expression_error)


def parse_document(raw: bytes | str | None, max_bytes: int, code: str) -> dict[str, Any]:
    """A request body decoded as a JSON object of at most ``max_bytes`` bytes.

    Raises
    ------
    BodyValidationError
        The body is empty, too large, not JSON or not an object (field ``body``).
    """
    message = None
    document: Any = None
    if not raw:
        message = "is required"
    elif len(raw) > max_bytes:
        message = f"must be at most {max_bytes} bytes"
    else:
        try:
            document = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            message = "must be valid JSON"
        else:
            if not isinstance(document, dict):
                message = "must be a JSON object"
    if message is not None:
        raise BodyValidationError([Problem("body", message)], code)
    return document


def check_fields(
    problems: list[Problem], body: Mapping[str, Any], allowed: Collection[str], prefix: str = ""
) -> None:
    """Name every field of ``body`` that is not in ``allowed``."""
    for name in sorted(set(body) - set(allowed), key=str):
        problems.append(Problem(f"{prefix}{name}", "unknown field"))


def check_choice(
    problems: list[Problem], name: str, value: Any, choices: Collection[str]
) -> str | None:
    """``value`` when it is one of ``choices``; otherwise a problem and ``None``."""
    if isinstance(value, str) and value in choices:
        return value
    problems.append(Problem(name, "must be one of " + ", ".join(repr(c) for c in choices)))
    return None


def check_integer(
    problems: list[Problem], name: str, value: Any, low: int, high: int
) -> int | None:
    """``value`` when it is an integer in ``[low, high]``; otherwise a problem and ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    problems.append(Problem(name, f"must be an integer from {low} to {high}"))
    return None


def check_text(
    problems: list[Problem], name: str, value: Any, max_length: int, *, required: bool = False
) -> str | None:
    """``value`` when it is printable text of at most ``max_length`` characters (non-empty
    when ``required``); otherwise a problem and ``None``."""
    if (
        isinstance(value, str)
        and len(value) <= max_length
        and (value.strip() or not required)
        and value.isprintable()
    ):
        return value
    what = "non-empty " if required else ""
    problems.append(
        Problem(name, f"must be {what}printable text of at most {max_length} characters")
    )
    return None
