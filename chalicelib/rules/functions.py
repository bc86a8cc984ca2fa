"""The function table: each function of the language is a small Python function plus its
signature. A name not in ``FUNCTIONS`` is an unknown function (a compile error).

Unless stated otherwise a function gives null when any argument is null. Timestamps are
read in UTC (a naive ``datetime`` is taken as UTC).

>>> FUNCTIONS["starts_with"].impl("FR-75", "FR"), FUNCTIONS["weekday"].result
(True, <Type.NUMBER: 'number'>)
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from chalicelib.rules.limits import MAX_REGEX_INPUT_LENGTH
from chalicelib.rules.schema import Type

ROUND_DIGITS = frozenset(range(11))


class Function(NamedTuple):
    """Signature and implementation of one function.

    Attributes
    ----------
    name:
        Name used in expressions.
    params:
        Parameter types; ``ANY`` accepts every type. With ``variadic`` the last one repeats.
    result:
        Result type, or ``None`` for "the common type of the arguments" (``coalesce``).
    impl:
        The Python function, called with the argument values.
    min_args:
        Fewest arguments; parameters past it are optional.
    variadic:
        Whether the last parameter may repeat without limit.
    null_propagating:
        Whether a null argument gives null without calling ``impl``.
    pattern_args:
        Indexes of arguments that must be string literals holding a regular expression;
        the checker screens them and ``impl`` receives them compiled.
    doc:
        One line for the documentation and error messages.
    """

    name: str
    params: tuple[Type, ...]
    result: Type | None
    impl: Callable[..., Any]
    min_args: int
    doc: str
    variadic: bool = False
    null_propagating: bool = True
    pattern_args: frozenset[int] = frozenset()

    @property
    def max_args(self) -> int | None:
        """Most arguments, ``None`` when variadic."""
        return None if self.variadic else len(self.params)

    def param(self, index: int) -> Type:
        """Type of the argument at ``index`` (the last parameter's when variadic)."""
        return self.params[min(index, len(self.params) - 1)]


def _matches(text: str, pattern: re.Pattern[str]) -> bool | None:
    if len(text) > MAX_REGEX_INPUT_LENGTH:
        return None
    return pattern.search(text) is not None


def _round(number: float, digits: float = 0) -> float | None:
    if digits not in ROUND_DIGITS:
        return None
    return round(number, int(digits))


def _coalesce(*values: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def _utc(timestamp: datetime) -> datetime:
    zone = timestamp.tzinfo
    return timestamp if zone is None or zone is UTC else timestamp.astimezone(UTC)


def _hour(timestamp: datetime) -> int:
    return _utc(timestamp).hour


def _weekday(timestamp: datetime) -> int:
    return _utc(timestamp).weekday()


_S, _N, _T = Type.STRING, Type.NUMBER, Type.TIMESTAMP

FUNCTIONS: Mapping[str, Function] = {
    function.name: function
    for function in (
        Function("lower", (_S,), _S, str.lower, 1, "text in lower case"),
        Function("upper", (_S,), _S, str.upper, 1, "text in upper case"),
        Function("len", (_S,), _N, len, 1, "number of characters of text"),
        Function("contains", (_S, _S), Type.BOOL, operator.contains, 2, "text contains part"),
        Function("starts_with", (_S, _S), Type.BOOL, str.startswith, 2, "text starts with part"),
        Function("ends_with", (_S, _S), Type.BOOL, str.endswith, 2, "text ends with part"),
        Function(
            "matches",
            (_S, _S),
            Type.BOOL,
            _matches,
            2,
            "the regular expression (a string literal) matches somewhere in text; null for "
            f"a text longer than {MAX_REGEX_INPUT_LENGTH} characters",
            pattern_args=frozenset((1,)),
        ),
        Function("abs", (_N,), _N, abs, 1, "absolute value"),
        Function("min", (_N, _N), _N, min, 2, "smallest argument", variadic=True),
        Function("max", (_N, _N), _N, max, 2, "largest argument", variadic=True),
        Function(
            "round",
            (_N, _N),
            _N,
            _round,
            1,
            "number rounded half to even, to 0-10 digits (default 0); null for other digits",
        ),
        Function(
            "coalesce",
            (Type.ANY, Type.ANY),
            None,
            _coalesce,
            2,
            "first argument that is not null (null if all are); arguments of one type",
            variadic=True,
            null_propagating=False,
        ),
        Function("hour", (_T,), _N, _hour, 1, "hour of the day, 0-23, in UTC"),
        Function("weekday", (_T,), _N, _weekday, 1, "day of the week in UTC, 0 = Monday"),
    )
}
