"""Rules and lists on the scoring path against moto: refresh, rollback, suspensions,
lazy TTL, redelivery, the read budget, privacy of reasons."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import boto3
import pytest

from chalicelib import runtime
from chalicelib.rules.dynamodb import DynamoRuleStore
from chalicelib.rules.service import RulesService
from chalicelib.state.dynamodb import item_to_dynamo
from fraudctl.local.calls import CallLog
from tests.conftest import post_json, scan, sqs_event, transaction
from tests.rules_support import SCHEMA, FakeClock

SUSPEND = {
    "rule_id": "big_spender",
    "expression": "amount > 900",
    "action": "suspend",
    "suspend": {"target": "customer_id", "duration": "1d"},
}


def body(response) -> dict:
    return json.loads(response.body)


def score(api, **overrides: Any) -> dict:
    return body(post_json(api, "/v1/score", transaction(**overrides)))


def rule_ids(decision: dict) -> list[str]:
    return [r["rule_id"] for r in decision["reasons"] if r["code"] == "rule"]


def dynamodb() -> Any:
    return boto3.client("dynamodb", region_name=os.environ["AWS_REGION"])


def test_a_change_made_elsewhere_is_seen_after_the_refresh_interval(api, stack):
    provider = runtime.current().rules.provider
    clock = provider.clock = FakeClock(0.0)
    provider.invalidate()  # the build read the head on the real clock
    assert provider.refresh_seconds <= 30
    assert score(api, transaction_id="t0", amount=2000.0)["rules_version"] == "none"
    other_function = RulesService(DynamoRuleStore(dynamodb(), stack.config_table), SCHEMA)
    other_function.put("big", {"expression": "amount > 1000", "action": "block"}, "ann")

    clock.now = provider.refresh_seconds - 0.1
    before = score(api, transaction_id="t1", amount=2000.0)
    clock.now = provider.refresh_seconds
    after = score(api, transaction_id="t2", amount=2000.0)

    assert (before["rules_version"], rule_ids(before)) == ("none", [])
    assert (after["rules_version"], rule_ids(after), after["decision"]) == ("1", ["big"], "block")


def test_rollback_changes_the_next_decision(api):
    post_json(
        api, "/v1/rules", {"rule_id": "big", "expression": "amount > 100", "action": "review"}
    )
    api.http.put(
        "/v1/rules/big",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"expression": "amount > 100", "action": "block"}),
    )
    blocked = score(api, transaction_id="t1", amount=500.0)

    post_json(api, "/v1/rules/rollback", {"version": 1})
    reviewed = score(api, transaction_id="t2", amount=500.0)

    assert (blocked["decision"], blocked["rules_version"]) == ("block", "2")
    assert (reviewed["decision"], reviewed["rules_version"]) == ("review", "3")


def test_suspend_blocks_the_customers_next_transactions_until_the_item_is_removed(api, stack):
    post_json(api, "/v1/rules", SUSPEND)

    first = score(api, transaction_id="t1", amount=1500.0)
    second = score(api, transaction_id="t2", amount=5.0, timestamp="2025-03-14T12:35:00")
    other = score(api, transaction_id="t3", amount=5.0, customer_id="C-2")

    assert first["decision"] == "block" and rule_ids(first) == ["big_spender"]
    assert first["reasons"][0]["suspension"]["list"] == "suspended_customers"
    assert second["decision"] == "block"
    assert rule_ids(second) == ["suspension:suspended_customers"]
    assert rule_ids(other) == []
    [item] = [i for i in scan(stack.config_table) if i["pk"] == "list#suspended_customers"]
    assert item["sk"] == "C-1001" and item["transaction_id"] == "t1"
    assert item["expires_at"] == pytest.approx(time.time() + 86400, abs=120)
    listed = body(api.http.get("/v1/lists/suspended_customers/items"))["items"]
    assert [(i["value"], i["added_by"]) for i in listed] == [("C-1001", "rule:big_spender")]

    api.http.delete("/v1/lists/suspended_customers/items/C-1001")
    third = score(api, transaction_id="t4", amount=5.0, timestamp="2025-03-14T12:40:00")

    assert rule_ids(third) == []


def test_a_redelivered_message_neither_duplicates_nor_extends_a_suspension(api, stack):
    post_json(api, "/v1/rules", SUSPEND)
    message = json.dumps(transaction(transaction_id="q1", amount=1500.0))
    api.lambda_.invoke("score_queue", sqs_event([message]))
    before = [i for i in scan(stack.config_table) if i["pk"].startswith("list#")]

    redelivered = api.lambda_.invoke("score_queue", sqs_event([message], receive_count=2))

    assert redelivered.payload == {"batchItemFailures": []}
    assert [i for i in scan(stack.config_table) if i["pk"].startswith("list#")] == before
    assert len(before) == 1


def test_an_expired_item_blocks_nothing_even_before_ttl_deletes_it(api, stack):
    post_json(
        api,
        "/v1/rules",
        {"rule_id": "stolen", "expression": "card_id in @stolen_cards", "action": "block"},
    )
    dynamodb().put_item(
        TableName=stack.config_table,
        Item=item_to_dynamo(
            {"pk": "list#stolen_cards", "sk": "card_1001_1", "expires_at": int(time.time()) - 60}
        ),
    )
    expired = score(api, transaction_id="t1")

    post_json(
        api,
        "/v1/lists/stolen_cards/items",
        {"items": [{"value": "card_1001_1", "expires_at": int(time.time()) + 600}]},
    )
    live = score(api, transaction_id="t2")

    assert rule_ids(expired) == [] and rule_ids(live) == ["stolen"]


def test_two_round_trips_per_api_transaction_with_rules_and_lists_in_play(api, stack):
    post_json(
        api,
        "/v1/rules/import",
        {
            "rules": [
                SUSPEND,
                {"rule_id": "vip", "expression": "customer_id in @vip", "action": "allow"},
                {
                    "rule_id": "mail",
                    "expression": "lower(email) in @blocked_emails",
                    "action": "block",
                },
                {
                    "rule_id": "cards",
                    "expression": "card_id in @stolen_cards",
                    "action": "review",
                    "mode": "shadow",
                },
            ]
        },
    )
    post_json(api, "/v1/lists/stolen_cards/items", {"value": "card_7_1"})
    rt = runtime.current()
    rt.rules.provider.clock = clock = FakeClock(0.0)
    score(api, transaction_id="warm-up", customer_id="C-0")
    log = CallLog(rt.store.client)

    for index in range(5):
        score(
            api,
            transaction_id=f"t{index}",
            customer_id=f"C-{index + 1}",
            card_id=f"card_{index + 5}_1",
        )

    assert log.count() == {"BatchGetItem": 5, "TransactWriteItems": 5}
    keys = log.calls[0][2]["RequestItems"][stack.config_table]["Keys"]
    assert {k["pk"]["S"] for k in keys} == {
        "list#suspended_customers",
        "list#vip",
        "list#blocked_emails",
        "list#stolen_cards",
    }
    clock.now = 3600.0
    score(api, transaction_id="after-refresh", customer_id="C-9")
    assert log.count()["GetItem"] == 1  # the rule set head, once per refresh


def test_reasons_never_show_the_email_or_ip_address_a_rule_saw(api, stack, json_logs):
    post_json(
        api,
        "/v1/rules",
        {
            "rule_id": "mail",
            "expression": "ends_with(email, '@example.com') and ip_address is not null",
            "action": "review",
        },
    )

    decision = score(api)

    assert rule_ids(decision) == ["mail"]
    stored = json.dumps(scan(stack.decisions_table), default=str) + json.dumps(decision)
    assert "[redacted]" in stored
    for secret in ("someone@example.com", "192.0.2.10"):
        assert secret not in stored and secret not in json_logs.getvalue()
