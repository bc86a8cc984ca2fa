"""Alerts reach subscribers through SNS, filtered on the decision attribute."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.conftest import REGION, post_json, transaction


def subscribe_queue(topic_arn: str, name: str, decisions: list[str]) -> str:
    sqs = boto3.client("sqs", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicy": json.dumps({"decision": decisions}),
        },
    )
    return url


def receive(url: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name=REGION)
    response = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
    )
    return response.get("Messages", [])


@pytest.fixture
def always_block(monkeypatch):
    monkeypatch.setenv("FRAUD_REVIEW_THRESHOLD", "0")
    monkeypatch.setenv("FRAUD_BLOCK_THRESHOLD", "0")


@pytest.fixture
def never_alert(monkeypatch):
    monkeypatch.setenv("FRAUD_REVIEW_THRESHOLD", "1")
    monkeypatch.setenv("FRAUD_BLOCK_THRESHOLD", "1")


def test_block_decision_reaches_a_subscription_filtered_on_block(stack, always_block, api):
    blocks = subscribe_queue(stack.alerts_topic_arn, "analyst-blocks", ["block"])
    reviews = subscribe_queue(stack.alerts_topic_arn, "analyst-reviews", ["review"])

    post_json(api, "/v1/score", transaction())

    [message] = receive(blocks)
    body = json.loads(message["Body"])
    assert body["transaction_id"] == "tx-0001" and body["decision"] == "block"
    assert {"score", "risk_score", "reasons", "severity"} <= set(body)
    attributes = message["MessageAttributes"]
    assert attributes["decision"]["StringValue"] == "block"
    assert attributes["severity"]["StringValue"] == "high"
    assert attributes["risk_score"]["DataType"] == "Number"
    assert receive(reviews) == []


def test_allow_decision_publishes_no_alert(stack, never_alert, api):
    everything = subscribe_queue(stack.alerts_topic_arn, "all", ["allow", "review", "block"])

    post_json(api, "/v1/score", transaction())

    assert receive(everything) == []


def test_duplicate_publishes_no_second_alert(stack, always_block, api):
    blocks = subscribe_queue(stack.alerts_topic_arn, "blocks", ["block"])

    post_json(api, "/v1/score", transaction())
    post_json(api, "/v1/score", transaction())

    assert len(receive(blocks)) == 1
