"""Alerts reach subscribers through SNS, from the decisions stream, never lost, never twice.

The stream is fed to the app's ``publish_alerts`` handler as Lambda (and ``make run``)
feeds it; failures are injected into the runtime's own boto3 clients with botocore event
hooks (SNS refusing, the outbox refusing, the function dying right after its commit).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib import aws
from chalicelib.delivery.dynamodb import PUBLISHED_AT
from tests.conftest import REGION, post_json, scan, sqs_event, transaction


def subscribe_queue(topic_arn: str, name: str, policy: dict[str, Any] | None = None) -> str:
    """A queue subscribed to the topic (raw delivery), filtered by ``policy``."""
    sqs = boto3.client("sqs", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    attributes = {"RawMessageDelivery": "true"}
    if policy is not None:
        attributes["FilterPolicy"] = json.dumps(policy)
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return url


def receive(url: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name=REGION)
    messages: list[dict] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
    ).get("Messages", []):
        messages += batch
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )
    return messages


def bodies(url: str) -> list[dict]:
    return [json.loads(m["Body"]) for m in receive(url)]


def inject(service: str, operation: str, code: str, times: int | None = None) -> list[int]:
    """Make the runtime's ``service`` client fail ``operation`` with ``code`` (the first
    ``times`` calls, or every call); returns the list of calls seen."""
    client = aws.client(service, REGION, None)
    calls: list[int] = []

    def refuse(**_: Any) -> None:
        calls.append(1)
        if times is None or len(calls) <= times:
            raise ClientError(
                {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {}},
                operation,
            )

    client.meta.events.register(f"before-call.{service}.{operation}", refuse, unique_id="inject")
    return calls


def heal(service: str, operation: str) -> None:
    aws.client(service, REGION, None).meta.events.unregister(
        f"before-call.{service}.{operation}", unique_id="inject"
    )


def decision_items(stack) -> dict[str, dict]:
    return {item["transaction_id"]: item for item in scan(stack.decisions_table)}


@pytest.fixture
def always_block(monkeypatch):
    monkeypatch.setenv("FRAUD_REVIEW_THRESHOLD", "0")
    monkeypatch.setenv("FRAUD_BLOCK_THRESHOLD", "0")


@pytest.fixture
def always_review(monkeypatch):
    monkeypatch.setenv("FRAUD_REVIEW_THRESHOLD", "0")
    monkeypatch.setenv("FRAUD_BLOCK_THRESHOLD", "1")


@pytest.fixture
def never_alert(monkeypatch):
    monkeypatch.setenv("FRAUD_REVIEW_THRESHOLD", "1")
    monkeypatch.setenv("FRAUD_BLOCK_THRESHOLD", "1")


@pytest.fixture
def everything(stack) -> str:
    return subscribe_queue(stack.alerts_topic_arn, "everything")


@pytest.fixture
def drain(api) -> Callable[[], dict]:
    from app import drain_alert_outbox
    from fraudctl.local.streams import lambda_context, scheduled_event

    return lambda: drain_alert_outbox(
        scheduled_event("drain_alert_outbox", REGION), lambda_context("drain_alert_outbox")
    )


def outbox_depth(stack) -> int:
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=stack.alerts_outbox_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_block_decision_reaches_a_subscription_filtered_on_block(
    stack, always_block, api, alert_stream
):
    blocks = subscribe_queue(stack.alerts_topic_arn, "analyst-blocks", {"decision": ["block"]})
    reviews = subscribe_queue(stack.alerts_topic_arn, "analyst-reviews", {"decision": ["review"]})

    post_json(api, "/v1/score", transaction(amount=250.0, currency="EUR"))
    alert_stream.poll_once()

    [message] = receive(blocks)
    body = json.loads(message["Body"])
    assert body["transaction_id"] == "tx-0001" and body["decision"] == "block"
    assert body["alert_type"] == "decision" and body["amount"] == 250.0
    assert {"score", "risk_score", "reasons", "severity", "currency"} <= set(body)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["decision"] == "block" and attributes["severity"] == "high"
    assert attributes["alert_type"] == "decision" and attributes["currency"] == "EUR"
    assert float(attributes["amount"]) == 250.0
    assert message["MessageAttributes"]["risk_score"]["DataType"] == "Number"
    assert receive(reviews) == []


def test_review_alert_has_its_severity_and_a_numeric_filter_on_amount_selects_it(
    stack, always_review, api, alert_stream
):
    large = subscribe_queue(
        stack.alerts_topic_arn, "large", {"amount": [{"numeric": [">=", 1000]}]}
    )

    post_json(api, "/v1/score", transaction(transaction_id="small", amount=20.0))
    post_json(api, "/v1/score", transaction(transaction_id="large", amount=5000.0))
    alert_stream.poll_once()

    [body] = bodies(large)
    assert (body["transaction_id"], body["decision"]) == ("large", "review")
    assert body["severity"] == ("high" if body["risk_score"] >= 80 else "medium")


def test_allow_decision_publishes_no_alert(stack, never_alert, api, alert_stream, everything):
    post_json(api, "/v1/score", transaction())
    alert_stream.poll_once()

    assert receive(everything) == []


def test_an_alert_rule_alerts_on_an_allowed_transaction(
    stack, never_alert, api, alert_stream, everything
):
    rule = {"rule_id": "watch_big", "expression": "amount > 900", "action": "alert"}
    assert post_json(api, "/v1/rules", rule).status_code == 201

    post_json(api, "/v1/score", transaction(transaction_id="big", amount=1000.0))
    post_json(api, "/v1/score", transaction(transaction_id="small", amount=10.0))
    alert_stream.poll_once()

    [body] = bodies(everything)
    assert (body["transaction_id"], body["decision"], body["severity"]) == ("big", "allow", "low")
    assert [r["rule_id"] for r in body["reasons"] if r["code"] == "rule"] == ["watch_big"]


def test_one_alert_per_transaction_however_often_it_is_sent_or_the_stream_redelivered(
    stack, always_block, api, alert_stream, everything
):
    from app import score_queue

    post_json(api, "/v1/score", transaction())
    post_json(api, "/v1/score", transaction())
    score_queue(sqs_event([json.dumps(transaction())] * 2), None)
    alert_stream.poll_once()
    alert_stream._positions.clear()  # the stream hands everything over again
    alert_stream.poll_once()

    assert [b["transaction_id"] for b in bodies(everything)] == ["tx-0001"]
    assert decision_items(stack)["tx-0001"][PUBLISHED_AT]


def test_transient_sns_failures_are_retried_with_backoff(
    stack, always_block, api, alert_stream, everything
):
    calls = inject("sns", "Publish", "Throttling", times=2)

    post_json(api, "/v1/score", transaction())
    alert_stream.poll_once()

    assert len(calls) == 3
    assert [b["transaction_id"] for b in bodies(everything)] == ["tx-0001"]
    assert outbox_depth(stack) == 0


def test_persistent_sns_failure_parks_the_alert_on_the_outbox_until_the_drain_publishes_it(
    stack, always_block, api, alert_stream, everything, drain
):
    boto3.client("sqs", region_name=REGION).set_queue_attributes(
        QueueUrl=stack.alerts_outbox_url, Attributes={"VisibilityTimeout": "0"}
    )
    calls = inject("sns", "Publish", "Throttling")
    post_json(api, "/v1/score", transaction())

    assert alert_stream.poll_once() == 1
    assert len(calls) == 4  # bounded: RetryPolicy.attempts
    assert outbox_depth(stack) == 1
    assert PUBLISHED_AT not in decision_items(stack)["tx-0001"]
    assert drain() == {"received": 1, "published": 0, "dropped_as_published": 0, "failed": 1}

    heal("sns", "Publish")
    assert drain()["published"] == 1

    [body] = bodies(everything)
    assert (body["transaction_id"], body["decision"]) == ("tx-0001", "block")
    assert decision_items(stack)["tx-0001"][PUBLISHED_AT]
    assert outbox_depth(stack) == 0
    assert drain()["received"] == 0


def test_a_refused_alert_is_not_retried_and_goes_to_the_outbox(
    stack, always_block, api, alert_stream
):
    calls = inject("sns", "Publish", "AuthorizationError")
    post_json(api, "/v1/score", transaction())

    alert_stream.poll_once()

    assert len(calls) == 1 and outbox_depth(stack) == 1


def test_the_drain_drops_an_outbox_alert_that_was_published_meanwhile(
    stack, always_block, api, alert_stream, everything, drain
):
    inject("sns", "Publish", "InternalError")
    post_json(api, "/v1/score", transaction())
    alert_stream.poll_once()
    heal("sns", "Publish")
    alert_stream._positions.clear()  # a redelivered batch publishes it after all
    alert_stream.poll_once()

    outcome = drain()

    assert outcome["dropped_as_published"] == 1 and outcome["published"] == 0
    assert len(receive(everything)) == 1
    assert outbox_depth(stack) == 0


def test_when_neither_sns_nor_the_outbox_take_an_alert_the_stream_hands_it_back(
    stack, always_block, api, alert_stream, everything
):
    inject("sns", "Publish", "Throttling")
    inject("sqs", "SendMessage", "ServiceUnavailable")
    post_json(api, "/v1/score", transaction(transaction_id="a"))
    post_json(api, "/v1/score", transaction(transaction_id="b"))

    alert_stream.poll_once()
    assert receive(everything) == []

    heal("sns", "Publish")
    heal("sqs", "SendMessage")
    alert_stream.poll_once()

    assert sorted(b["transaction_id"] for b in bodies(everything)) == ["a", "b"]


def test_a_function_dying_between_commit_and_publish_loses_no_alert(
    stack, always_block, api, alert_stream, everything
):
    def die(**_: Any) -> None:
        raise RuntimeError("the function died right after its commit")

    dynamodb = aws.client("dynamodb", REGION, None)
    dynamodb.meta.events.register("after-call.dynamodb.TransactWriteItems", die, unique_id="die")

    response = post_json(api, "/v1/score", transaction())
    dynamodb.meta.events.unregister("after-call.dynamodb.TransactWriteItems", unique_id="die")

    assert response.status_code == 500
    assert "tx-0001" in decision_items(stack)
    alert_stream.poll_once()
    retried = post_json(api, "/v1/score", transaction())  # the caller's retry
    alert_stream.poll_once()

    assert retried.headers.get("Idempotent-Replayed") == "true"
    assert [b["transaction_id"] for b in bodies(everything)] == ["tx-0001"]


def test_labels_and_markers_never_raise_alerts(stack, always_block, api, alert_stream, everything):
    post_json(api, "/v1/score", transaction())
    alert_stream.poll_once()
    receive(everything)

    post_json(api, "/v1/feedback", {"transaction_id": "tx-0001", "is_fraud": True})
    alert_stream.poll_once()

    assert receive(everything) == []
