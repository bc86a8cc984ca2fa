"""Static screening of the patterns of ``matches(text, pattern)``.

Python's ``re`` backtracks, so a pattern can take exponential or high polynomial time on
a crafted input. A pattern is accepted only when it is at most ``MAX_REGEX_LENGTH``
characters and has:

- no backreference (``\\1``, ``(?P=name)``), lookaround (``(?=``, ``(?!``, ``(?<=``,
  ``(?<!``) or conditional group (``(?(1)...)``);
- no nested or ambiguous repetition: a repeated group may contain neither a repetition nor
  an alternation (``(a+)+``, ``(a*)*``, ``(a|ab)*`` are rejected; ``(ab)+`` is fine);
- repetition bounds of at most ``MAX_REGEX_REPEAT``;
- a backtracking budget of at most ``MAX_REGEX_BACKTRACKING``: the product of the choices of
  its repetitions (unbounded ones count as ``MAX_REGEX_INPUT_LENGTH``) and of the branches
  of its alternations.

Together with the cap on the searched text (``MAX_REGEX_INPUT_LENGTH``), this bounds the
time of one search to milliseconds.

>>> compile_pattern(r"^[a-z0-9._%+-]+@example\\.com$", position=0, text="").pattern
'^[a-z0-9._%+-]+@example\\\\.com$'
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

from chalicelib.rules.errors import RuleLimitError, RuleSyntaxError
from chalicelib.rules.limits import (
    MAX_REGEX_BACKTRACKING,
    MAX_REGEX_INPUT_LENGTH,
    MAX_REGEX_LENGTH,
    MAX_REGEX_REPEAT,
)

_QUANTIFIER = re.compile(r"[*+?]|\{([0-9]*)(,?)([0-9]*)\}")
_GROUP_OPENING = re.compile(r"\(\?(?::|>|P<[A-Za-z_][A-Za-z0-9_]*>|[aims-]+:)")
_FLAGS = re.compile(r"\(\?[aims]+\)")
_COMMENT = re.compile(r"\(\?#[^)]*\)")
_REJECTED_GROUPS = (
    ("(?=", "lookahead"),
    ("(?!", "negative lookahead"),
    ("(?<=", "lookbehind"),
    ("(?<!", "negative lookbehind"),
    ("(?P=", "backreference"),
    ("(?(", "conditional group"),
)
SAFE_PATTERN = "a pattern without backreferences, lookarounds or nested repetition"


@dataclass(slots=True)
class _Group:
    """What the scanner knows about an open group."""

    branches: int = 1
    repeats: bool = False


class _Unsafe(Exception):
    """Internal: the pattern is rejected (turned into ``RuleLimitError``)."""

    def __init__(self, message: str, expected: str) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected


def compile_pattern(pattern: str, *, position: int, text: str) -> re.Pattern[str]:
    """Screen and compile ``pattern``, the string literal at ``position`` of ``text``.

    Raises
    ------
    RuleLimitError
        The pattern is too long, too costly or uses a forbidden construct.
    RuleSyntaxError
        ``re`` does not accept the pattern.
    """
    try:
        if len(pattern) > MAX_REGEX_LENGTH:
            raise _Unsafe("pattern too long", f"at most {MAX_REGEX_LENGTH} characters")
        _screen(pattern)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an ambiguous class such as [[a] is an error
            return re.compile(pattern)
    except _Unsafe as unsafe:
        raise RuleLimitError(
            f"unsafe pattern: {unsafe.message}",
            position=position,
            expected=unsafe.expected,
            text=text,
        ) from None
    except (re.error, OverflowError, FutureWarning) as error:
        raise RuleSyntaxError(
            f"invalid pattern: {error}",
            position=position,
            expected="a regular expression",
            text=text,
        ) from None


def _screen(pattern: str) -> None:
    """Raise ``_Unsafe`` when ``pattern`` breaks a rule of this module; ignore what ``re``
    itself rejects (``re.compile`` reports it)."""
    stack = [_Group()]
    cost = 1
    # Whether the last atom may be repeated: None when there is none, else a bool.
    last_repeatable: bool | None = None
    index = 0
    while index < len(pattern):
        char = pattern[index]
        quantifier = _QUANTIFIER.match(pattern, index)
        if char == "\\":
            if pattern[index + 1 : index + 2] in tuple("123456789"):
                raise _Unsafe("backreference", SAFE_PATTERN)
            index += 2
            last_repeatable = True
        elif char == "[":
            index = _class_end(pattern, index)
            last_repeatable = True
        elif char == "(":
            inline = _FLAGS.match(pattern, index) or _COMMENT.match(pattern, index)
            if inline:
                index = inline.end()
                continue
            index = _group_body(pattern, index)
            stack.append(_Group())
            last_repeatable = None
        elif char == ")" and len(stack) > 1:
            group = stack.pop()
            cost = _charge(cost, group.branches)
            stack[-1].repeats |= group.repeats
            last_repeatable = not group.repeats and group.branches == 1
            index += 1
        elif char == "|":
            stack[-1].branches += 1
            last_repeatable = None
            index += 1
        elif quantifier and (char != "{" or quantifier.group(1) or quantifier.group(3)):
            choices = _choices(quantifier)
            if last_repeatable is False:
                raise _Unsafe("nested or ambiguous repetition", SAFE_PATTERN)
            if choices > 1:
                cost = _charge(cost, choices)
                stack[-1].repeats = True
            index = quantifier.end()
            if pattern[index : index + 1] in ("?", "+"):
                index += 1  # lazy or possessive form
            last_repeatable = False
        else:
            index += 1
            last_repeatable = True
    _charge(cost, stack[0].branches)


def _group_body(pattern: str, start: int) -> int:
    """Offset of the body of the group opening at ``start``; only plain, non-capturing,
    atomic, named and flag-scoped groups are allowed (not verbose mode, which would hide
    the pattern's structure from this scan)."""
    if not pattern.startswith("(?", start):
        return start + 1
    for prefix, what in _REJECTED_GROUPS:
        if pattern.startswith(prefix, start):
            raise _Unsafe(what, SAFE_PATTERN)
    opening = _GROUP_OPENING.match(pattern, start)
    if opening is None:
        raise _Unsafe("unsupported group or flag", SAFE_PATTERN)
    return opening.end()


def _class_end(pattern: str, start: int) -> int:
    """Offset just after the character class opening at ``start``."""
    index = start + 1
    if pattern[index : index + 1] == "^":
        index += 1
    if pattern[index : index + 1] == "]":
        index += 1
    while index < len(pattern) and pattern[index] != "]":
        index += 2 if pattern[index] == "\\" else 1
    return index + 1


def _choices(quantifier: re.Match[str]) -> int:
    """How many repetition counts ``quantifier`` allows (unbounded: the input cap)."""
    text = quantifier.group()
    if text == "?":
        return 2
    if text in ("*", "+"):
        return MAX_REGEX_INPUT_LENGTH
    low_text, comma, high_text = quantifier.groups()
    low = int(low_text) if low_text else 0
    high = int(high_text) if high_text else (None if comma else low)
    if max(low, high or 0) > MAX_REGEX_REPEAT:
        raise _Unsafe("repetition bound too large", f"bounds of at most {MAX_REGEX_REPEAT}")
    if high is None:
        return MAX_REGEX_INPUT_LENGTH
    return max(high - low + 1, 1)


def _charge(cost: int, factor: int) -> int:
    cost *= factor
    if cost > MAX_REGEX_BACKTRACKING:
        raise _Unsafe(
            "too much possible backtracking",
            "at most two unbounded repetitions (fewer with other repetitions or alternations)",
        )
    return cost
