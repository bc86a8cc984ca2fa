"""The outbox queue on SQS: alerts the topic refused, one message each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.alerts import AlertError, AlertMessage
from chalicelib.delivery.service import OutboxEntry, OutboxError

MAX_BATCH = 10


class SqsOutbox:
    """``Outbox`` on an SQS queue (``client`` from ``chalicelib.aws``).

    A received message stays hidden for the queue's visibility timeout; one not deleted
    by then is received again, and after the queue's redrive limit it moves to the
    outbox's dead-letter queue (``infra/resources.yaml``, with an alarm).
    """

    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def put(self, message: AlertMessage) -> None:
        try:
            self.client.send_message(QueueUrl=self.queue_url, MessageBody=message.to_json())
        except (ClientError, BotoCoreError) as exc:
            raise OutboxError(f"outbox refused alert {message.key}: {exc}") from exc

    def receive(self, limit: int) -> list[OutboxEntry]:
        try:
            response = self.client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(limit, MAX_BATCH),
                WaitTimeSeconds=0,
            )
        except (ClientError, BotoCoreError) as exc:
            raise OutboxError(f"cannot read the outbox: {exc}") from exc
        entries = []
        for raw in response.get("Messages", []):
            try:
                message: AlertMessage | None = AlertMessage.from_json(raw["Body"])
            except AlertError:
                message = None
            entries.append(OutboxEntry(raw["MessageId"], raw["ReceiptHandle"], message))
        return entries

    def delete(self, receipts: Sequence[str]) -> None:
        for start in range(0, len(receipts), MAX_BATCH):
            entries = [
                {"Id": str(i), "ReceiptHandle": r}
                for i, r in enumerate(receipts[start : start + MAX_BATCH])
            ]
            try:
                self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise OutboxError(f"cannot delete delivered outbox messages: {exc}") from exc
