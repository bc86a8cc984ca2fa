"""Lexer: expression text to a list of tokens, ending with an ``END`` token.

Whitespace (space, tab, newline, carriage return) separates tokens. Names are ASCII: a
letter or ``_``, then letters, digits and ``_``, in dot-separated segments
(``customer.nb_tx_1d``). Keywords are lower case. Numbers are decimal, with an optional
fraction and exponent (``3``, ``0.5``, ``1e3``, ``2.5E-2``). Strings use single or double
quotes with the escapes ``\\\\ \\' \\" \\n \\r \\t \\uXXXX``.

>>> [token.text for token in tokenize("amount >= 1e3 and @watchlist")]
['amount', '>=', '1e3', 'and', '@watchlist', '']
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, NamedTuple

from chalicelib.rules.errors import RuleLimitError, RuleSyntaxError
from chalicelib.rules.limits import (
    MAX_EXPRESSION_LENGTH,
    MAX_IDENTIFIER_LENGTH,
    MAX_NUMBER_MAGNITUDE,
    MAX_STRING_LENGTH,
)


class TokenKind(StrEnum):
    """Kind of a token."""

    NUMBER = "number"
    STRING = "string"
    NAME = "name"
    LIST = "list"
    KEYWORD = "keyword"
    OPERATOR = "operator"
    END = "end"


class Token(NamedTuple):
    """A token: its kind, source text, 0-based offset, and decoded value.

    ``value`` is a float for numbers, the decoded text for strings, the list name without
    ``@`` for list references and ``text`` otherwise.
    """

    kind: TokenKind
    text: str
    position: int
    value: Any


KEYWORDS = frozenset(("and", "or", "not", "in", "is", "null", "true", "false"))
OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "(", ")", "[", "]", ",")
ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
EXPECTED_TOKEN = "an operator, a name, a number, a string or '@list'"  # noqa: S105 (not a secret)
# Look-alikes from other languages, with what this language spells instead.
MISSPELLED_OPERATORS = {
    "=": "'==' (a single '=' is not an operator)",
    "!": "'!=' or 'not'",
    "&": "'and'",
    "|": "'or'",
}

_SPACE = re.compile(r"[ \t\r\n]+")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_LIST_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens.

    Raises
    ------
    RuleLimitError
        The text, a name, a string or a number exceeds its limit.
    RuleSyntaxError
        A character or sequence that starts no token, an unterminated string or a bad escape.
    """
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise RuleLimitError(
            "expression too long",
            position=MAX_EXPRESSION_LENGTH,
            expected=f"at most {MAX_EXPRESSION_LENGTH} characters",
            actual=f"{len(text)} characters",
            text=text,
        )
    return _Lexer(text).run()


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[Token] = []

    def run(self) -> list[Token]:
        text, position = self.text, 0
        while position < len(text):
            space = _SPACE.match(text, position)
            if space:
                position = space.end()
                continue
            char = text[position]
            if char in "'\"":
                position = self._string(position)
            elif "0" <= char <= "9":
                position = self._number(position)
            elif char == "@":
                position = self._list(position)
            elif match := _NAME.match(text, position):
                position = self._name(match)
            else:
                position = self._operator(position)
        self.tokens.append(Token(TokenKind.END, "", len(text), None))
        return self.tokens

    def _error(
        self, message: str, position: int, expected: str, actual: str | None = None
    ) -> RuleSyntaxError:
        return RuleSyntaxError(
            message, position=position, expected=expected, actual=actual, text=self.text
        )

    def _add(self, kind: TokenKind, start: int, end: int, value: Any) -> int:
        self.tokens.append(Token(kind, self.text[start:end], start, value))
        return end

    def _check_length(self, what: str, start: int, length: int, limit: int) -> None:
        if length > limit:
            raise RuleLimitError(
                f"{what} too long",
                position=start,
                expected=f"at most {limit} characters",
                actual=f"{length} characters",
                text=self.text,
            )

    def _number(self, start: int) -> int:
        match = _NUMBER.match(self.text, start)
        if match is None:  # unreachable: the caller saw a digit
            raise self._error("malformed number", start, "a digit")
        end = match.end()
        number, following = match.group(), self.text[end : end + 1]
        if following == "." and not any(char in number for char in ".eE"):
            raise self._error("malformed number", end + 1, "a digit after '.'")
        if following in ("e", "E") and not any(char in number for char in "eE"):
            raise self._error("malformed number", end + 1, "a digit in the exponent")
        if following and following in _NAME_CHARS:
            raise self._error(
                "malformed number", end, "an operator after a number", repr(following)
            )
        value = float(number)
        if not abs(value) <= MAX_NUMBER_MAGNITUDE:
            raise RuleLimitError(
                "number too large",
                position=start,
                expected=f"a magnitude of at most {MAX_NUMBER_MAGNITUDE:g}",
                text=self.text,
            )
        return self._add(TokenKind.NUMBER, start, end, value)

    def _name(self, match: re.Match[str]) -> int:
        start, end = match.span()
        name = match.group()
        following = self.text[end : end + 1]
        if following == ".":
            raise self._error("malformed name", end + 1, "a name after '.'")
        self._check_length("name", start, len(name), MAX_IDENTIFIER_LENGTH)
        if name in KEYWORDS:
            return self._add(TokenKind.KEYWORD, start, end, name)
        if name.lower() in KEYWORDS:
            raise self._error("keywords are lower case", start, repr(name.lower()), repr(name))
        return self._add(TokenKind.NAME, start, end, name)

    def _list(self, start: int) -> int:
        match = _LIST_NAME.match(self.text, start + 1)
        if match is None:
            raise self._error("missing list name", start + 1, "a list name after '@'")
        following = self.text[match.end() : match.end() + 1]
        if following == ".":
            raise self._error("malformed list name", match.end(), "a list name without '.'")
        self._check_length("list name", start, len(match.group()), MAX_IDENTIFIER_LENGTH)
        return self._add(TokenKind.LIST, start, match.end(), match.group())

    def _operator(self, start: int) -> int:
        for operator in OPERATORS:
            if self.text.startswith(operator, start):
                return self._add(TokenKind.OPERATOR, start, start + len(operator), operator)
        char = self.text[start]
        if char in MISSPELLED_OPERATORS:
            raise self._error("unknown operator", start, MISSPELLED_OPERATORS[char], repr(char))
        raise self._error("unexpected character", start, EXPECTED_TOKEN, repr(char))

    def _string(self, start: int) -> int:
        text, quote = self.text, self.text[start]
        chunks: list[str] = []
        position = start + 1
        while True:
            end = _next_special(text, position, quote)
            chunks.append(text[position:end])
            if end == len(text):
                raise self._error("unterminated string", start, f"a closing {quote}")
            char = text[end]
            if char == quote:
                position = end + 1
                break
            if char != "\\":
                raise self._error(
                    "control character in string", end, "an escape such as \\n", repr(char)
                )
            escaped, position = self._escape(end)
            chunks.append(escaped)
        value = "".join(chunks)
        self._check_length("string", start, len(value), MAX_STRING_LENGTH)
        return self._add(TokenKind.STRING, start, position, value)

    def _escape(self, backslash: int) -> tuple[str, int]:
        """Decode the escape at ``backslash``; return it and the position after it."""
        code = self.text[backslash + 1 : backslash + 2]
        if code in ESCAPES:
            return ESCAPES[code], backslash + 2
        if code == "u":
            digits = _HEX4.match(self.text, backslash + 2)
            if digits is not None:
                point = int(digits.group(), 16)
                if not 0xD800 <= point <= 0xDFFF:
                    return chr(point), digits.end()
            raise self._error(
                "bad escape", backslash, "\\u and 4 hex digits of a non-surrogate character"
            )
        raise self._error(
            "bad escape (a backslash is written \\\\, also in patterns)",
            backslash,
            "one of \\\\ \\' \\\" \\n \\r \\t \\uXXXX",
            repr("\\" + code),
        )


def _next_special(text: str, position: int, quote: str) -> int:
    """Offset of the first quote, backslash or control character from ``position`` on."""
    for offset in range(position, len(text)):
        char = text[offset]
        if char == quote or char == "\\" or (char < " " and char != "\t"):
            return offset
    return len(text)
