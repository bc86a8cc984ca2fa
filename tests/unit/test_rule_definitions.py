"""Rule and list item bodies: defaults, every bad field named, expression positions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.identifiers import IdentifierHasher
from chalicelib.rules.definitions import parse_rule, rule_from_dict
from chalicelib.rules.lists import ListValues, is_personal, parse_items
from chalicelib.rules.validation import BodyValidationError, parse_document
from tests.rules_support import SCHEMA, VALUES

NOW = datetime(2025, 3, 14, tzinfo=UTC).timestamp()


def problems_of(call, *args, **kwargs) -> dict:
    with pytest.raises(BodyValidationError) as caught:
        call(*args, **kwargs)
    return caught.value.to_dict()


def test_minimal_rule_gets_defaults_and_a_generated_id():
    rule = parse_rule({"expression": "amount > 1000", "action": "review"}, SCHEMA)

    assert (rule.priority, rule.mode, rule.description, rule.suspend) == (100, "active", "", None)
    assert rule.rule_id.startswith("rule-")


def test_suspend_rule_round_trips_through_its_stored_form():
    body = {
        "rule_id": "burst",
        "expression": "customer.nb_tx_1d > 20",
        "action": "suspend",
        "priority": 700,
        "mode": "shadow",
        "description": "velocity burst",
        "suspend": {"target": "card_id", "duration": 172800},
    }

    rule = parse_rule(body, SCHEMA)

    assert rule.to_dict()["suspend"] == {
        "target": "card_id",
        "duration": "2d",
        "list": "suspended_cards",
    }
    assert rule_from_dict(rule.to_dict()) == rule
    assert parse_rule(rule.to_dict(), SCHEMA) == rule


BAD_RULES = [
    ("unknown field", {"colour": "red"}, ["colour"]),
    ("missing expression", {"expression": None}, ["expression"]),
    ("expression not text", {"expression": 5}, ["expression"]),
    ("unknown action", {"action": "deny"}, ["action"]),
    ("priority too high", {"priority": 1001}, ["priority"]),
    ("priority as boolean", {"priority": True}, ["priority"]),
    ("priority as text", {"priority": "5"}, ["priority"]),
    ("unknown mode", {"mode": "on"}, ["mode"]),
    ("description too long", {"description": "x" * 501}, ["description"]),
    ("description with a control character", {"description": "a\x07b"}, ["description"]),
    ("rule id with a space", {"rule_id": "a b"}, ["rule_id"]),
    ("rule id too long", {"rule_id": "r" * 65}, ["rule_id"]),
    ("reserved rule id", {"rule_id": "versions"}, ["rule_id"]),
    ("suspend on a block rule", {"suspend": {"target": "card_id", "duration": "1h"}}, ["suspend"]),
    ("suspend rule without suspend", {"action": "suspend"}, ["suspend"]),
    (
        "bad suspension",
        {
            "action": "suspend",
            "suspend": {"target": "email", "duration": "1y", "list": "9lives", "why": 1},
        },
        ["suspend.why", "suspend.target", "suspend.duration", "suspend.list"],
    ),
    (
        "suspension too short",
        {"action": "suspend", "suspend": {"target": "customer_id", "duration": "30s"}},
        ["suspend.duration"],
    ),
    (
        "four bad fields",
        {"action": "x", "mode": "y", "priority": -1, "extra": 1},
        ["action", "mode", "priority", "extra"],
    ),
]


@pytest.mark.parametrize(
    ("overrides", "fields"), [pytest.param(o, f, id=n) for n, o, f in BAD_RULES]
)
def test_bad_rule_body_names_every_offending_field(overrides, fields):
    body = {"rule_id": "r1", "expression": "amount > 1", "action": "block", **overrides}
    body = {k: v for k, v in body.items() if v is not None}

    answer = problems_of(parse_rule, body, SCHEMA)

    assert answer["error"] == "invalid_rule"
    assert sorted(f["field"] for f in answer["fields"]) == sorted(fields)


def test_invalid_expression_answer_carries_the_language_error_at_the_top():
    answer = problems_of(
        parse_rule, {"expression": "(amount > 5", "action": "block", "mode": "x"}, SCHEMA
    )

    assert answer["error"] == "rule_syntax_error"
    assert (answer["position"], answer["line"], answer["column"]) == (11, 1, 12)
    assert answer["expected"] == "')'"
    [expression] = [f for f in answer["fields"] if f["field"] == "expression"]
    assert expression["position"] == 11
    assert {f["field"] for f in answer["fields"]} == {"expression", "mode"}


def test_rule_id_in_the_body_must_match_the_path():
    answer = problems_of(
        parse_rule,
        {"rule_id": "a", "expression": "amount > 1", "action": "block"},
        SCHEMA,
        rule_id="b",
    )

    assert [f["field"] for f in answer["fields"]] == ["rule_id"]
    assert (
        parse_rule({"expression": "amount > 1", "action": "block"}, SCHEMA, rule_id="b").rule_id
        == "b"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "is required"),
        (b"{not json", "must be valid JSON"),
        (b"[1]", "must be a JSON object"),
        (b"{}" + b" " * 20, "must be at most 10 bytes"),
    ],
)
def test_request_documents_are_bounded_json_objects(raw, message):
    answer = problems_of(parse_document, raw, 10, "invalid_rule")

    assert answer["fields"] == [{"field": "body", "message": message}]


def test_list_items_accept_one_or_many_with_optional_expiry_in_several_spellings():
    single = parse_items(
        {"value": "C-1", "expires_at": "2025-03-15T00:00:00Z", "note": "fraud"}, NOW
    )
    many = parse_items(
        {"items": [{"value": "a"}, {"value": 42}, {"value": "b", "expires_at": NOW + 60}]}, NOW
    )

    assert single[0].expires_at == NOW + 86400 and single[0].note == "fraud"
    assert [(i.value, i.expires_at) for i in many] == [("a", None), ("42", None), ("b", NOW + 60)]
    assert (
        parse_items({"value": "c", "expires_at": "2025-03-14T01:00:00"}, NOW)[0].expires_at
        == NOW + 3600
    )


def test_bad_list_items_are_named_by_position():
    answer = problems_of(
        parse_items,
        {
            "items": [
                {"value": "ok"},
                {"value": ""},
                {"value": "x", "expires_at": "2020-01-01T00:00:00"},
                {"value": "y", "expires_at": "tomorrow", "why": 1},
                "z",
                {"value": "v" * 257},
            ]
        },
        NOW,
    )

    assert answer["error"] == "invalid_list_item"
    assert [f["field"] for f in answer["fields"]] == [
        "items[1].value",
        "items[2].expires_at",
        "items[3].why",
        "items[3].expires_at",
        "items[4]",
        "items[5].value",
    ]


def test_too_many_items_in_one_request_are_refused():
    answer = problems_of(parse_items, {"items": [{"value": str(i)} for i in range(1001)]}, NOW)

    assert [f["field"] for f in answer["fields"]] == ["items"]


def test_emails_and_ip_addresses_are_stored_as_keyed_hashes():
    other_key = ListValues(IdentifierHasher(b"another key"))

    assert is_personal("Someone@Example.com") and is_personal("2001:db8::1")
    assert not is_personal("cust_42") and not is_personal("12345") and not is_personal("a@b")
    assert VALUES.key("cust_42") == "cust_42"
    assert VALUES.key("a@b.co").startswith("hash:") and "a@b.co" not in VALUES.key("a@b.co")
    assert VALUES.key("a@b.co") == VALUES.key("a@b.co") != other_key.key("a@b.co")
