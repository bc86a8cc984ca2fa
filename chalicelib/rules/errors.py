"""Errors of the rule language.

Compiling an expression raises only ``RuleError`` subclasses, whatever the text:
``RuleSyntaxError`` (the text is not in the grammar), ``RuleTypeError`` (it is, but it
mixes types, names something unknown or is not a condition) and ``RuleLimitError`` (it is
too large or too complex). Each carries the 0-based character ``position`` of the offending
token (with 1-based ``line`` and ``column``) and what was ``expected`` there; route code
turns them into HTTP 400 with ``to_dict()``. ``RuleEvaluationError`` is raised at run time
only when the evaluation context breaks the schema (a server-side bug, not a bad rule).

>>> error = RuleSyntaxError("unclosed parenthesis", position=11, expected="')'",
...                         text="(amount > 5")
>>> str(error)
"unclosed parenthesis: expected ')' at position 11 (line 1, column 12)"
"""

from __future__ import annotations

from typing import Any, ClassVar

from chalicelib.errors import FraudServiceError


class RuleError(FraudServiceError):
    """Base class of the rule language's errors.

    Parameters
    ----------
    message:
        What is wrong, in a sentence an analyst understands.
    position:
        0-based character offset of the offending token in ``text`` (``len(text)`` for the
        end of the text), or ``None`` when no single place is at fault.
    expected:
        What the language expected at ``position`` (for example ``"')'"`` or ``"number"``).
    actual:
        What it found instead, when that helps (for example a type name).
    text:
        The expression's text, used only to compute ``line`` and ``column``.
    """

    code: ClassVar[str] = "rule_error"

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        expected: str | None = None,
        actual: str | None = None,
        text: str | None = None,
    ) -> None:
        self.message = message
        self.position = position
        self.expected = expected
        self.actual = actual
        self.line: int | None = None
        self.column: int | None = None
        if position is not None and text is not None:
            self.line = text.count("\n", 0, position) + 1
            self.column = position - (text.rfind("\n", 0, position) + 1) + 1
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [self.message]
        if self.expected is not None:
            parts.append(f": expected {self.expected}")
        if self.actual is not None:
            parts.append(f", found {self.actual}")
        if self.position is not None:
            parts.append(f" at position {self.position}")
            if self.line is not None:
                parts.append(f" (line {self.line}, column {self.column})")
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON body of the HTTP 400 answer (keys with no value are left out)."""
        body: dict[str, Any] = {"error": self.code, "message": str(self)}
        for key in ("position", "line", "column", "expected", "actual"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        return body


class RuleSyntaxError(RuleError):
    """The text is not a sentence of the grammar (bad token, missing operand, unclosed ...)."""

    code = "rule_syntax_error"


class RuleTypeError(RuleError):
    """The expression is well formed but mistyped, names something unknown or is no condition."""

    code = "rule_type_error"


class RuleLimitError(RuleError):
    """The expression exceeds a limit of ``chalicelib.rules.limits``."""

    code = "rule_limit_error"


class RuleEvaluationError(RuleError):
    """The evaluation context returned a value of the wrong type for a typed identifier."""

    code = "rule_evaluation_error"
