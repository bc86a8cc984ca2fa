"""/v1/rules routes against moto: CRUD, 400s with positions, versions, rollback, import,
expression trials, hostile bodies."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.rules.limits import MAX_RULE_BODY_BYTES
from tests.conftest import post_json, scan, transaction

BIG = {"rule_id": "big", "expression": "amount > 1000", "action": "block"}


def body(response) -> dict:
    return json.loads(response.body)


def put_json(client, path: str, payload) -> object:
    return client.http.put(
        path, headers={"Content-Type": "application/json"}, body=json.dumps(payload)
    )


def test_rule_lifecycle_create_read_replace_delete(api):
    created = post_json(api, "/v1/rules", {**BIG, "description": "very large payment"})
    assert created.status_code == 201
    assert body(created) | {"updated_at": None} == {
        **BIG,
        "priority": 100,
        "mode": "active",
        "description": "very large payment",
        "revision": "1",
        "updated_at": None,
        "updated_by": "unknown",
        "rules_version": "1",
    }

    replaced = put_json(api, "/v1/rules/big", {"expression": "amount > 2000", "action": "review"})
    fetched = api.http.get("/v1/rules/big")
    listed = api.http.get("/v1/rules")
    health = api.http.get("/v1/health")

    assert replaced.status_code == 200 and body(replaced)["rules_version"] == "2"
    assert body(fetched)["expression"] == "amount > 2000" and body(fetched)["revision"] == "2"
    assert [r["rule_id"] for r in body(listed)["rules"]] == ["big"]
    assert body(listed)["version"] == "2" and body(health)["rules_version"] == "2"

    deleted = api.http.delete("/v1/rules/big")
    assert body(deleted) == {"rule_id": "big", "deleted": True, "rules_version": "3"}
    assert api.http.get("/v1/rules/big").status_code == 404
    assert api.http.delete("/v1/rules/big").status_code == 404
    assert (
        put_json(
            api, "/v1/rules/fresh", {"expression": "amount > 1", "action": "alert"}
        ).status_code
        == 201
    )


def test_author_comes_from_the_header_fraudctl_sends_when_unsigned(api):
    created = api.http.post(
        "/v1/rules",
        headers={"Content-Type": "application/json", "X-Fraud-Author": "ann@fraud-team"},
        body=json.dumps(BIG),
    )

    assert body(created)["updated_by"] == "ann@fraud-team"
    assert body(api.http.get("/v1/rules/versions"))["versions"][0]["author"] == "ann@fraud-team"


def test_creating_an_existing_rule_is_a_conflict(api):
    post_json(api, "/v1/rules", BIG)

    again = post_json(api, "/v1/rules", BIG)

    assert again.status_code == 409 and body(again)["error"] == "conflict"


@pytest.mark.parametrize(
    ("expression", "error", "position", "expected"),
    [
        ("(amount > 5", "rule_syntax_error", 11, "')'"),
        ("amount > 'abc'", "rule_type_error", 9, "number"),
        ("amont > 5", "rule_type_error", 0, "a transaction field, feature or score"),
        ("amount > 1e16", "rule_limit_error", 9, "a magnitude of at most 1e+15"),
        ("(" * 40 + "amount > 1" + ")" * 40, "rule_limit_error", 32, None),
    ],
)
def test_invalid_expression_is_400_with_its_position_and_what_was_expected(
    api, stack, expression, error, position, expected
):
    response = post_json(api, "/v1/rules", {**BIG, "expression": expression})

    answer = body(response)
    assert response.status_code == 400
    assert (answer["error"], answer["position"]) == (error, position)
    assert expected is None or answer["expected"] == expected
    assert [f["field"] for f in answer["fields"]] == ["expression"]
    assert scan(stack.config_table) == []


def test_bad_rule_body_is_400_naming_every_field(api):
    response = post_json(
        api,
        "/v1/rules",
        {"rule_id": "a b", "expression": 7, "action": "ban", "priority": "high", "x": 1},
    )

    assert response.status_code == 400
    assert {f["field"] for f in body(response)["fields"]} == {
        "rule_id",
        "expression",
        "action",
        "priority",
        "x",
    }


def test_oversized_and_malformed_bodies_are_refused_before_parsing(api):
    huge = post_json(api, "/v1/rules", {**BIG, "description": "x" * MAX_RULE_BODY_BYTES})
    broken = post_json(api, "/v1/rules", "{not json")

    assert huge.status_code == 400 and body(huge)["fields"][0]["field"] == "body"
    assert body(broken)["fields"] == [{"field": "body", "message": "must be valid JSON"}]


def test_versions_history_and_rollback_to_any_version(api):
    post_json(api, "/v1/rules", BIG)
    post_json(
        api,
        "/v1/rules",
        {"rule_id": "watch", "expression": "customer_id in @watchlist", "action": "review"},
    )
    put_json(api, "/v1/rules/big", {"expression": "amount > 5000", "action": "block"})
    api.http.delete("/v1/rules/watch")

    rollback = post_json(api, "/v1/rules/rollback", {"version": "2"})
    versions = body(api.http.get("/v1/rules/versions?limit=10"))
    history = body(api.http.get("/v1/rules/big/history"))
    old = body(api.http.get("/v1/rules?version=3"))

    assert rollback.status_code == 200 and body(rollback)["version"] == "5"
    assert [v["version"] for v in versions["versions"]] == ["5", "4", "3", "2", "1"]
    assert versions["versions"][0]["change"] == {"op": "rollback", "to_version": "2"}
    assert [r["version"] for r in history["revisions"]] == ["3", "1"]
    assert [r["rule_id"] for r in old["rules"]] == ["big", "watch"]
    current = body(api.http.get("/v1/rules"))
    assert {r["rule_id"]: r["expression"] for r in current["rules"]} == {
        "big": "amount > 1000",
        "watch": "customer_id in @watchlist",
    }
    assert post_json(api, "/v1/rules/rollback", {"version": 99}).status_code == 404
    assert post_json(api, "/v1/rules/rollback", {"version": "two"}).status_code == 400
    assert api.http.get("/v1/rules?version=0").status_code == 400


def test_import_loads_a_pack_in_one_version(api):
    rules = [BIG, {"rule_id": "night", "expression": "hour(timestamp) < 5", "action": "review"}]

    response = post_json(api, "/v1/rules/import", {"rules": rules})

    assert response.status_code == 200
    assert body(response)["rules_version"] == "1"
    assert len(body(api.http.get("/v1/rules"))["rules"]) == 2


def test_trying_an_expression_saves_nothing_and_redacts_personal_values(api, stack):
    post_json(api, "/v1/lists/blocked_emails/items", {"value": "someone@example.com"})

    trial = post_json(
        api,
        "/v1/rules/test",
        {
            "expression": "email in @blocked_emails and customer.nb_tx_1d >= 3 and score > 0.5",
            "transaction": transaction(),
            "features": {"customer_nb_tx_1d": 4},
            "score": 0.75,
        },
    )

    answer = body(trial)
    assert trial.status_code == 200
    assert answer["result"] is True and answer["fires"] is True
    assert answer["explanation"] == (
        "email ([redacted]) in @blocked_emails and customer.nb_tx_1d (4) >= 3"
        " and score (0.75) > 0.5"
    )
    assert answer["list_lookups"][0]["member"] is True
    assert "someone@example.com" not in trial.body.decode()
    assert not any(item["pk"] == "ruleset" for item in scan(stack.config_table))


def test_trying_an_expression_on_a_stored_decision_uses_its_features_and_score(api):
    post_json(api, "/v1/score", transaction())

    trial = post_json(
        api,
        "/v1/rules/test",
        {"expression": "customer.nb_tx_1d == 1 and score < 0.5", "transaction_id": "tx-0001"},
    )
    bad = post_json(api, "/v1/rules/test", {"expression": "amount >", "transaction_id": "tx-0001"})
    unknown = post_json(
        api, "/v1/rules/test", {"expression": "amount > 1", "transaction_id": "nope"}
    )

    assert body(trial)["result"] is True
    assert bad.status_code == 400 and body(bad)["position"] == 8
    assert unknown.status_code == 404


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    text=st.text(
        alphabet=st.sampled_from(list("amount<>=!()[]@'\" .,0123456789+-*/andornotin_ěé\\\n")),
        max_size=60,
    )
    | st.sampled_from(
        [
            "amount > 1",
            "customer_id in @watchlist",
            "matches(email, '(a+)+$')",
            "(" * 100,
            "1" * 5000,
            "'" + "x" * 3000 + "'",
        ]
    )
)
def test_random_expression_text_only_ever_yields_201_or_400_with_a_position(api, text):
    response = post_json(api, "/v1/rules", {"expression": text, "action": "review"})

    assert response.status_code in (201, 400)
    if response.status_code == 400:
        answer = body(response)
        assert answer["error"].startswith("rule_")
        assert 0 <= answer["position"] <= len(text) and answer["expected"]
