"""The local SQS worker behaves like Lambda's event source mapping."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ReadTimeoutError

from fraudctl.local import worker as worker_module
from fraudctl.local.worker import QueueWorker


class FlakySqs:
    """An SQS client whose first receive times out, then serves one message."""

    def __init__(self) -> None:
        self.receives = 0
        self.deleted: list[str] = []

    def get_queue_attributes(self, **_: Any) -> dict:
        return {"Attributes": {"QueueArn": "arn:aws:sqs:eu-west-1:123456789012:q"}}

    def receive_message(self, **_: Any) -> dict:
        self.receives += 1
        if self.receives == 1:
            raise ReadTimeoutError(endpoint_url="http://127.0.0.1:5000/")
        if self.receives == 2:
            return {"Messages": [{"MessageId": "m1", "ReceiptHandle": "r1", "Body": "{}"}]}
        return {}

    def delete_message_batch(self, Entries: list[dict], **_: Any) -> dict:
        self.deleted += [entry["ReceiptHandle"] for entry in Entries]
        return {}


def test_worker_survives_a_timed_out_poll_and_processes_the_next_batch(monkeypatch):
    monkeypatch.setattr(worker_module, "ERROR_PAUSE_SECONDS", 0)
    sqs = FlakySqs()
    handled: list[list[str]] = []

    def handler(event: dict, context: Any) -> dict:
        handled.append([record["messageId"] for record in event["Records"]])
        return {"batchItemFailures": []}

    worker = QueueWorker(sqs, "http://q", handler, "eu-west-1")

    def stop_after_three_polls() -> None:
        if sqs.receives >= 3:
            worker.stop()

    worker.run(stop_after_three_polls)

    assert handled == [["m1"]]
    assert sqs.deleted == ["r1"]
