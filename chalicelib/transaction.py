"""The transaction contract: parsing and validation of an API body, SQS message or CSV row.

Pure: dicts in, a frozen ``Transaction`` (or a ``TransactionValidationError`` naming every
bad field) out. A value that looks like a card number is rejected wherever it appears and
is never copied into an error message, so it cannot reach a log or a store.

>>> tx = parse_transaction({"transaction_id": "t-1", "timestamp": "2024-05-01T10:00:00",
...     "amount": 12.5, "customer_id": "c1", "terminal_id": "T9"}, default_currency="EUR")
>>> (tx.event_time, tx.currency)
(1714557600, 'EUR')
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from chalicelib.errors import FraudServiceError

MAX_AMOUNT = 1e9
MAX_ID_LENGTH = 128
MAX_STRING_LENGTH = 256
MAX_METADATA_BYTES = 2048
MAX_METADATA_DEPTH = 4
MIN_YEAR, MAX_YEAR = 1970, 2100

TRANSACTION_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")
TRANSACTION_ID_RULE = "must be 1-128 characters of A-Z a-z 0-9 _ . : -"
COUNTRY_PATTERN = re.compile(r"[A-Z]{2}")
CURRENCY_PATTERN = re.compile(r"[A-Z]{3}")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f]")
CARD_NUMBER_MIN_DIGITS = 13
# 13-19 digits, optionally grouped by single spaces or dashes, not inside a longer digit run.
CARD_NUMBER_CANDIDATE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")

REQUIRED_STRING_FIELDS = ("customer_id", "terminal_id")
OPTIONAL_STRING_FIELDS = (
    "card_id",
    "merchant_id",
    "merchant_category",
    "channel",
    "country",
    "ip_address",
    "device_id",
    "email",
)
TRANSACTION_FIELDS = frozenset(
    (
        "transaction_id",
        "timestamp",
        "amount",
        "currency",
        "metadata",
        *REQUIRED_STRING_FIELDS,
        *OPTIONAL_STRING_FIELDS,
    )
)
LABEL_FIELD = "is_fraud"


class FieldError(NamedTuple):
    """One offending field and what is wrong with it (never its value)."""

    field: str
    message: str


class TransactionValidationError(FraudServiceError):
    """The payload breaks the transaction contract; ``errors`` names every bad field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))

    def to_dict(self) -> dict[str, Any]:
        """JSON body of the HTTP 400 answer."""
        return {
            "error": "invalid_transaction",
            "message": str(self),
            "fields": [{"field": e.field, "message": e.message} for e in self.errors],
        }


@dataclass(frozen=True, slots=True)
class Transaction:
    """A validated payment transaction.

    ``event_time`` is the timestamp in whole UTC epoch seconds: the resolution of every
    velocity window.
    """

    transaction_id: str
    timestamp: datetime
    event_time: int
    amount: float
    currency: str
    customer_id: str
    terminal_id: str
    card_id: str | None = None
    merchant_id: str | None = None
    merchant_category: str | None = None
    channel: str | None = None
    country: str | None = None
    ip_address: str | None = None
    device_id: str | None = None
    email: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        """Value of a contract field by name (``None`` when absent)."""
        return getattr(self, name, None)

    def to_payload(self) -> dict[str, Any]:
        """The contract representation (what a client would send), absent fields omitted."""
        payload: dict[str, Any] = {
            "transaction_id": self.transaction_id,
            "timestamp": self.timestamp.isoformat(),
            "amount": self.amount,
            "currency": self.currency,
            "customer_id": self.customer_id,
            "terminal_id": self.terminal_id,
        }
        for name in OPTIONAL_STRING_FIELDS:
            value = getattr(self, name)
            if value is not None:
                payload[name] = value
        if self.metadata:
            payload["metadata"] = self.metadata
        return payload


def parse_transaction(
    payload: Any, *, default_currency: str, allow_fields: frozenset[str] = frozenset()
) -> Transaction:
    """Validate ``payload`` against the contract and return a ``Transaction``.

    Parameters
    ----------
    payload:
        Decoded JSON body (must be an object).
    default_currency:
        Currency assumed when the payload has none.
    allow_fields:
        Extra top-level names tolerated and ignored (for example ``is_fraud`` in a CSV).

    Raises
    ------
    TransactionValidationError
        Listing every offending field: unknown, missing, wrong type, bad value, or a value
        that looks like a card number.
    """
    if not isinstance(payload, Mapping):
        raise TransactionValidationError([FieldError("body", "must be a JSON object")])
    errors: list[FieldError] = []
    for name in sorted(set(payload) - TRANSACTION_FIELDS - allow_fields):
        errors.append(FieldError(str(name), "unknown field"))
    errors.extend(card_number_errors(payload))
    card_fields = {e.field.split(".")[0].split("[")[0] for e in errors}

    values: dict[str, Any] = {}
    checks = (
        ("transaction_id", _check_transaction_id, True),
        ("timestamp", _check_timestamp, True),
        ("amount", _check_amount, True),
        ("customer_id", _check_identifier, True),
        ("terminal_id", _check_identifier, True),
        ("currency", _check_currency, False),
        ("card_id", _check_identifier, False),
        ("merchant_id", _check_identifier, False),
        ("merchant_category", _check_text, False),
        ("channel", _check_text, False),
        ("country", _check_country, False),
        ("ip_address", _check_ip_address, False),
        ("device_id", _check_identifier, False),
        ("email", _check_email, False),
        ("metadata", _check_metadata, False),
    )
    for name, check, required in checks:
        if name in card_fields:
            continue
        raw = payload.get(name)
        if raw is None:
            if required:
                errors.append(FieldError(name, "is required"))
            continue
        try:
            values[name] = check(raw)
        except _BadValue as bad:
            errors.append(FieldError(name, str(bad)))
    if errors:
        raise TransactionValidationError(errors)
    timestamp: datetime = values.pop("timestamp")
    return Transaction(
        timestamp=timestamp,
        event_time=math.floor(timestamp.timestamp()),
        currency=values.pop("currency", default_currency),
        metadata=values.pop("metadata", {}),
        **values,
    )


def looks_like_card_number(text: str) -> bool:
    """True when ``text`` contains 13-19 digits (optionally grouped) passing the Luhn check.

    >>> looks_like_card_number("4111 1111 1111 1111"), looks_like_card_number("4111111111111112")
    (True, False)
    """
    if len(text) < CARD_NUMBER_MIN_DIGITS:  # most fields: no need to run the pattern
        return False
    for match in CARD_NUMBER_CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if _luhn_valid(digits):
            return True
    return False


class _BadValue(ValueError):
    """Internal: a single field's value is wrong (message never contains the value)."""


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def card_number_errors(payload: Mapping[str, Any]) -> list[FieldError]:
    """Every path in ``payload`` whose key or value looks like a card number."""
    found: list[FieldError] = []

    def visit(value: Any, path: str, depth: int) -> None:
        if depth > MAX_METADATA_DEPTH + 2:
            return
        # Leaves first, by the cheapest tests: most values are strings and numbers.
        if isinstance(value, str):
            text = value
        elif isinstance(value, bool):
            return
        elif isinstance(value, (int, float)):
            text = _number_text(value)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and looks_like_card_number(key):
                    child = f"{path}.<key>" if path else "<key>"
                    found.append(FieldError(child, "looks like a card number; send a token"))
                    continue
                visit(item, child, depth + 1)
            return
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, f"{path}[{index}]", depth + 1)
            return
        else:
            return
        if looks_like_card_number(text):
            found.append(FieldError(path, "looks like a card number; send a token"))

    visit(payload, "", 0)
    return found


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e20:
        return str(int(value))
    return str(value)


def transaction_id_error(raw: Any) -> FieldError | None:
    """The error of a transaction id that breaks the contract, ``None`` when it is valid."""
    if isinstance(raw, str) and TRANSACTION_ID_PATTERN.fullmatch(raw):
        return None
    return FieldError("transaction_id", TRANSACTION_ID_RULE)


def _check_transaction_id(raw: Any) -> str:
    error = transaction_id_error(raw)
    if error is not None:
        raise _BadValue(error.message)
    return raw


def _check_timestamp(raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise _BadValue("must be an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise _BadValue("must be an ISO-8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    if not MIN_YEAR <= parsed.year < MAX_YEAR:
        raise _BadValue(f"must be between {MIN_YEAR} and {MAX_YEAR}")
    return parsed


def _check_amount(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _BadValue("must be a number")
    amount = float(raw)
    if not math.isfinite(amount) or not 0 < amount < MAX_AMOUNT:
        raise _BadValue("must be > 0 and < 1e9")
    return amount


def _check_text(raw: Any, max_length: int = MAX_STRING_LENGTH) -> str:
    if not isinstance(raw, str):
        raise _BadValue("must be a string")
    if not raw.strip():
        raise _BadValue("must not be empty")
    if len(raw) > max_length:
        raise _BadValue(f"must be at most {max_length} characters")
    if CONTROL_CHARACTER.search(raw):
        raise _BadValue("must not contain control characters")
    return raw


def _check_identifier(raw: Any) -> str:
    return _check_text(raw, MAX_ID_LENGTH)


def _check_currency(raw: Any) -> str:
    if not isinstance(raw, str) or not CURRENCY_PATTERN.fullmatch(raw):
        raise _BadValue("must be an ISO-4217 code of three capital letters")
    if raw not in ISO_4217_CODES:
        raise _BadValue("is not an ISO-4217 currency code")
    return raw


def _check_country(raw: Any) -> str:
    if not isinstance(raw, str) or not COUNTRY_PATTERN.fullmatch(raw):
        raise _BadValue("must be an ISO-3166 alpha-2 code of two capital letters")
    return raw


def _check_ip_address(raw: Any) -> str:
    if not isinstance(raw, str):
        raise _BadValue("must be a string")
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        raise _BadValue("must be an IPv4 or IPv6 address") from None


def _check_email(raw: Any) -> str:
    text = _check_text(raw)
    if not EMAIL_PATTERN.fullmatch(text):
        raise _BadValue("must be an e-mail address")
    return text.lower()


def _check_metadata(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _BadValue("must be an object")
    try:
        encoded = json.dumps(raw, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        raise _BadValue("must hold only JSON values") from None
    if len(encoded.encode()) > MAX_METADATA_BYTES:
        raise _BadValue(f"must be at most {MAX_METADATA_BYTES} bytes as JSON")
    if _depth(raw) > MAX_METADATA_DEPTH:
        raise _BadValue(f"must nest at most {MAX_METADATA_DEPTH} levels")
    return raw


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


# Active ISO-4217 currency codes (funds and precious metals excluded).
ISO_4217_CODES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
    BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
    FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD
    JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT
    MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
    QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS
    TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF
    YER ZAR ZMW ZWG""".split()
)
