"""DynamoDB round trips per scoring call (counted on the client), and TTL on every item."""

from __future__ import annotations

import json
from collections import Counter

import boto3
import pytest

from chalicelib import runtime
from chalicelib.features.spec import CUSTOMER, SECONDS_PER_DAY, TERMINAL
from fraudctl.local.calls import CallLog
from tests.conftest import REGION, post_json, scan, sqs_event, transaction

READS = {"BatchGetItem", "GetItem", "Query", "Scan"}
WRITES = {"TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}


@pytest.fixture
def dynamodb_calls(api) -> CallLog:
    """DynamoDB API calls of the app's client (``fraudctl.local.calls``)."""
    api.http.get("/v1/health")  # builds the runtime (its clients) without DynamoDB calls
    return CallLog(runtime.current().store.client)


def reads(calls: Counter[str]) -> int:
    return sum(n for name, n in calls.items() if name in READS)


def writes(calls: Counter[str]) -> int:
    return sum(n for name, n in calls.items() if name in WRITES)


def test_scoring_one_transaction_through_the_api_costs_one_read_and_one_write(api, dynamodb_calls):
    post_json(api, "/v1/score", transaction(transaction_id="warm-up"))
    dynamodb_calls.clear()

    response = post_json(api, "/v1/score", transaction(timestamp="2025-03-14T12:31:07"))

    assert response.status_code == 200
    assert json.loads(response.body)["transaction_id"] == "tx-0001"
    calls = dynamodb_calls.count()
    assert reads(calls) <= 2 and writes(calls) <= 1, calls
    assert calls == {"BatchGetItem": 1, "TransactWriteItems": 1}


def test_an_sqs_batch_of_ten_costs_at_most_three_reads_and_two_writes(api, dynamodb_calls):
    bodies = [
        json.dumps(
            transaction(
                transaction_id=f"q-{i}",
                customer_id=f"C-{i}",
                terminal_id=f"T-{i}",
                card_id=f"card_{i}",
                device_id=f"dev_{i}",
                timestamp=f"2025-03-{10 + i:02d}T{i:02d}:{7 * i % 60:02d}:{11 * i % 60:02d}",
            )
        )
        for i in range(10)
    ]

    response = api.lambda_.invoke("score_queue", sqs_event(bodies))

    assert response.payload == {"batchItemFailures": []}
    calls = dynamodb_calls.count()
    assert reads(calls) <= 3 and writes(calls) <= 2, calls


def test_every_state_item_and_decision_carries_a_sensible_ttl(api, stack):
    for i, stamp in enumerate(["2025-03-14T12:30:00", "2025-03-15T08:00:00"]):
        post_json(api, "/v1/score", transaction(transaction_id=f"t-{i}", timestamp=stamp))
    post_json(api, "/v1/feedback", {"transaction_id": "t-0", "is_fraud": True})
    last = 1742025600  # 2025-03-15T08:00:00Z
    client = boto3.client("dynamodb", region_name=REGION)

    state = scan(stack.state_table)
    kinds = Counter(
        "ledger" if k.count("#") == 1 else k.split("#")[-1][0] for k in (i["pk"] for i in state)
    )
    assert set(kinds) == {"ledger", "r", "d", "h", "m"}
    for item in state:
        expires = item["expires_at"]
        keep = CUSTOMER.retention_seconds if item["pk"].startswith("customer#") else None
        keep = keep or TERMINAL.retention_seconds
        assert isinstance(expires, int), item["pk"]
        assert last + keep - 2 * SECONDS_PER_DAY < expires <= last + keep + SECONDS_PER_DAY
    for record in scan(stack.decisions_table):
        assert record["expires_at"] > last + 300 * SECONDS_PER_DAY
    for table in (stack.state_table, stack.decisions_table):
        ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        assert ttl["AttributeName"] == "expires_at"
        assert ttl["TimeToLiveStatus"] == "ENABLED"
