"""The SQS fixes the local stack runs with (``fraudctl.local.moto_patches``) give moto's
answers: visible, in-flight and delayed messages counted alike, expired messages not
delivered."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto.sqs.models import sqs_backends

from fraudctl.local import moto_patches

ACCOUNT = "123456789012"


def _queue_state(patched: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Send 5 messages (one delayed), receive 2, expire 1 by age: counts and deliveries."""
    with monkeypatch.context() as patches:
        if patched:
            moto_patches.install(patches.setattr)
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})[
            "QueueUrl"
        ]
        for index in range(4):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{index}")
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=900)
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        queue = sqs_backends[ACCOUNT][sqs.meta.region_name].queues["q"]
        stale = next(m for m in queue._messages if m.body == "m3")
        stale.sent_timestamp -= 120_000  # older than the 60 s retention period
        rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        sqs.delete_queue(QueueUrl=url)
    return {
        "received": sorted(m["Body"] for m in received),
        "visible": counts["ApproximateNumberOfMessages"],
        "in_flight": counts["ApproximateNumberOfMessagesNotVisible"],
        "delayed": counts["ApproximateNumberOfMessagesDelayed"],
        "rest": sorted(m["Body"] for m in rest),
    }


def test_patched_queues_answer_as_moto(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    patched = _queue_state(True, monkeypatch)
    assert patched == _queue_state(False, monkeypatch)
    assert patched["received"] == ["m0", "m1"]
    assert (patched["visible"], patched["in_flight"], patched["delayed"]) == ("2", "2", "1")
    assert patched["rest"] == ["m2"]
