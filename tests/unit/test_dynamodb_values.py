"""DynamoDB attribute values: what the stores write reads back as it was."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from chalicelib.errors import StoreError
from chalicelib.state.dynamodb import from_dynamo, to_dynamo


def test_an_item_of_every_written_kind_reads_back_equal():
    value = {
        "count": 3,
        "sum": 1234.56,
        "tiny": 1e-300,
        "negative": -98765.4321,
        "name": "customer",
        "flag": True,
        "missing": None,
        "raw": b"\x00\xff",
        "nested": {"list": [1, 2.5, "x", [False]], 7: "key as text"},
    }

    restored = from_dynamo(to_dynamo(value))

    assert restored == {**value, "nested": {"list": [1, 2.5, "x", [False]], "7": "key as text"}}
    assert isinstance(restored["count"], int)


def test_numbers_are_written_as_exact_decimals_and_read_back_as_the_same_float():
    values = [0.1, 1 / 3, 1e-05, 2.0**-1074, 123456789.123456789, -0.0, 2**60]
    written = [to_dynamo(v)["N"] for v in values]

    assert written[0] == "0.1" and written[2] == "0.00001" and written[6] == str(2**60)
    assert [from_dynamo({"N": n}) for n in written[:-2]] == values[:-2]
    assert from_dynamo({"N": written[-1]}) == 2**60


def test_integral_numbers_read_back_as_int_and_others_as_float():
    assert from_dynamo({"N": "2.0"}) == 2 and isinstance(from_dynamo({"N": "2.0"}), int)
    assert from_dynamo({"N": "1E+2"}) == 100 and isinstance(from_dynamo({"N": "1E+2"}), int)
    assert from_dynamo({"N": "12345678901234567890123456789"}) == 12345678901234567890123456789
    assert isinstance(from_dynamo({"N": "2.5"}), float)


def test_sets_written_by_other_tools_read_back_as_sets():
    assert from_dynamo({"NS": ["1", "2.5"]}) == {1, 2.5}
    assert from_dynamo({"SS": ["a", "b"]}) == {"a", "b"}
    assert from_dynamo({"BS": [b"a"]}) == {b"a"}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, {1, 2}, Decimal("1.5"), object()])
def test_values_dynamodb_cannot_hold_are_refused_before_any_call(value):
    with pytest.raises(TypeError, match="DynamoDB cannot store"):
        to_dynamo({"nested": [value]})


@pytest.mark.parametrize("raw", [{}, {"S": "a", "N": "1"}, {"X": 1}])
def test_a_malformed_attribute_value_is_a_store_error(raw):
    with pytest.raises(StoreError, match="not a DynamoDB attribute value"):
        from_dynamo(raw)
