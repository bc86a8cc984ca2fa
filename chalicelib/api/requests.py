"""What the analyst routes read from a request: the author, query parameters, path values.

The author of a change is the IAM principal that signed the request (API Gateway puts it
in the request context); without one (``chalice local``, tests) the ``X-Fraud-Author``
header that ``fraudctl`` sends, else ``unknown``. A signed request cannot claim another
author.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from chalicelib.rules.limits import MAX_PAGE_SIZE
from chalicelib.rules.validation import BodyValidationError, Problem

AUTHOR_HEADER = "x-fraud-author"
MAX_AUTHOR_LENGTH = 128
DEFAULT_PAGE_SIZE = 100
MAX_VERSION = 10**9
INVALID_QUERY = "invalid_query"


def author_of(context: Mapping[str, Any] | None, headers: Mapping[str, str]) -> str:
    """Who makes the request (see the module documentation).

    >>> author_of({"identity": {"userArn": "arn:aws:iam::1:user/ann"}}, {AUTHOR_HEADER: "bob"})
    'arn:aws:iam::1:user/ann'
    >>> author_of({"identity": {"sourceIp": "127.0.0.1"}}, {AUTHOR_HEADER: "bob"})
    'bob'
    """
    identity = (context or {}).get("identity") or {}
    principal = identity.get("userArn") or identity.get("caller")
    if principal:
        return str(principal)
    claimed = headers.get(AUTHOR_HEADER, "").strip()
    if claimed and len(claimed) <= MAX_AUTHOR_LENGTH and claimed.isprintable():
        return claimed
    return "unknown"


def path_value(raw: str) -> str:
    """A path parameter as sent (percent-encoding decoded; ``+`` stays a plus)."""
    return unquote(raw)


def query_int(
    params: Mapping[str, str] | None, name: str, default: int | None, low: int, high: int
) -> int | None:
    """Integer query parameter ``name`` in ``[low, high]`` (``default`` when absent).

    Raises
    ------
    BodyValidationError
        It is not such an integer.
    """
    raw = (params or {}).get(name)
    return default if raw is None else integer(name, raw, low, high)


def integer(name: str, raw: Any, low: int, high: int) -> int:
    """``raw`` (an integer or its digits) when it is in ``[low, high]``.

    Raises
    ------
    BodyValidationError
        It is not (field ``name``).
    """
    text = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    if text.isdigit() and low <= int(text) <= high:
        return int(text)
    raise BodyValidationError(
        [Problem(name, f"must be an integer from {low} to {high}")], INVALID_QUERY
    )


def page_size(params: Mapping[str, str] | None) -> int:
    """The ``limit`` query parameter (1 to ``MAX_PAGE_SIZE``, default 100)."""
    return query_int(params, "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE


def encode_cursor(key: str | None) -> str | None:
    """An opaque continuation token for the stored key ``key``."""
    return base64.urlsafe_b64encode(key.encode()).decode() if key is not None else None


def decode_cursor(params: Mapping[str, str] | None) -> str | None:
    """The stored key of the ``after`` query parameter.

    Raises
    ------
    BodyValidationError
        It is not a token from a previous page.
    """
    token = (params or {}).get("after")
    if token is None:
        return None
    try:
        key = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = ""
    if not key:
        raise BodyValidationError(
            [Problem("after", "must be the 'next' token of a previous page")], INVALID_QUERY
        )
    return key
