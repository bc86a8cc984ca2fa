"""Run-time values: the checks applied to ``any``-typed values, and list keys.

At run time a number is an ``int`` or ``float`` (never a ``bool``), a string a ``str``, a
boolean a ``bool``, a timestamp a ``datetime`` (naive ones are UTC) and null is ``None``.
An ``any`` value (``metadata.*``) is checked where a type is required: a value of another
type becomes null. Numbers from DynamoDB (``Decimal``) are accepted there as floats.

>>> as_number(True), as_number(Decimal("2.5")), list_key(42.0), list_key("c42")
(None, 2.5, '42', 'c42')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from chalicelib.rules.schema import Type


def as_number(value: Any) -> int | float | None:
    """``value`` when it is a finite number (a ``Decimal`` as a float), else ``None``."""
    kind = type(value)
    if kind is float or kind is int:
        return finite(value)
    if kind is Decimal:
        return finite(float(value))
    return None


def as_string(value: Any) -> str | None:
    """``value`` when it is a string, else ``None``."""
    return value if type(value) is str else None


def as_bool(value: Any) -> bool | None:
    """``value`` when it is a boolean, else ``None``."""
    return value if type(value) is bool else None


def as_timestamp(value: Any) -> datetime | None:
    """``value`` when it is a ``datetime``, else ``None``."""
    return value if isinstance(value, datetime) else None


GUARDS: Mapping[Type, Callable[[Any], Any]] = {
    Type.NUMBER: as_number,
    Type.STRING: as_string,
    Type.BOOL: as_bool,
    Type.TIMESTAMP: as_timestamp,
}


def finite(number: Any) -> Any:
    """``number`` unless it is infinite or NaN (then ``None``); exact for ints of any size."""
    return number if number - number == 0 else None


def list_key(value: Any) -> str | None:
    """The string under which ``value`` is looked up in a stored list, or ``None``.

    Strings are themselves; numbers are canonical (``42`` and ``42.0`` give ``"42"``,
    ``0.5`` gives ``"0.5"``); anything else (booleans, null, objects) has no key.
    """
    if type(value) is str:
        return value
    number = as_number(value)
    if number is None:
        return None
    if number == int(number):
        return str(int(number))
    return repr(float(number))
