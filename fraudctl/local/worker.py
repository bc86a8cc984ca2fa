"""Local stand-in for Lambda's event sources: the scoring queue, the decisions stream and
the schedules.

Long-polls the scoring queue, hands each batch to the app's ``@app.on_sqs_message``
handler as a Lambda-shaped event (one record per message, with its own messageId,
receipt handle and receive count), and deletes only the messages the handler did not
report in ``batchItemFailures``. Failed messages become visible again and, after the
queue's redrive limit, move to the dead-letter queue, as on AWS.

Between polls it hands the decisions table's new stream records to the alert publisher
and runs the scheduled functions (the outbox drain, the daily report) on short intervals
(``fraudctl.local.streams``), so that ``make run`` takes the deployed alert path.

Run by ``make run``; reads the queue and resource names from the environment.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import aws
from chalicelib.settings import Settings
from fraudctl.local.streams import STREAMS_CONFIG, Schedule, StreamPoller

logger = logging.getLogger("fraudctl.worker")

BATCH_SIZE = 10
ERROR_PAUSE_SECONDS = 1.0
WAIT_SECONDS = 1
DRAIN_SECONDS = 5
REPORT_SECONDS = 300


def lambda_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The SQS event Lambda would deliver for ``messages`` (from ``ReceiveMessage``)."""
    records = []
    for message in messages:
        attributes = message.get("Attributes", {})
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": attributes.get("SentTimestamp", "0"),
                    "SenderId": attributes.get("SenderId", "local"),
                    "ApproximateFirstReceiveTimestamp": attributes.get(
                        "ApproximateFirstReceiveTimestamp", "0"
                    ),
                },
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message.get("MD5OfBody")
                or hashlib.md5(message["Body"].encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


class QueueWorker:
    """Feeds one queue to one SQS handler.

    Parameters
    ----------
    sqs:
        boto3 SQS client.
    queue_url:
        The scoring queue.
    handler:
        ``handler(event, context)``: the Chalice SQS handler.
    retry_seconds:
        Visibility timeout given back to failed messages so that they are retried soon
        (on AWS they wait for the queue's full visibility timeout).
    """

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handler: Callable[[dict[str, Any], Any], Any],
        region: str,
        retry_seconds: int = 2,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.handler = handler
        self.region = region
        self.retry_seconds = retry_seconds
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.running = True

    def poll_once(self) -> tuple[int, int]:
        """Receive and process one batch; returns (processed, failed)."""
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=BATCH_SIZE,
            WaitTimeSeconds=WAIT_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0, 0
        from chalice.local import LambdaContext

        event = lambda_event(messages, self.queue_arn, self.region)
        try:
            result = self.handler(event, LambdaContext("score_queue", memory_size=1024))
            failed = {
                item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])
            }
        except Exception:  # the whole invocation failed: Lambda retries every message
            logger.exception("SQS handler raised; every message of the batch is retried")
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
        retry = [m for m in messages if m["MessageId"] in failed]
        if retry:
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": self.retry_seconds,
                    }
                    for i, m in enumerate(retry)
                ],
            )
        logger.info(
            json.dumps({"worker": "batch", "messages": len(messages), "failed": len(retry)})
        )
        return len(messages), len(retry)

    def run(self, between: Callable[[], None] = lambda: None) -> None:
        """Poll until stopped, calling ``between()`` after every poll.

        A failed call to the local AWS (a timeout under load, a restart) is logged and
        retried after a pause, as Lambda's poller does; it never ends the worker.
        """
        while self.running:
            try:
                self.poll_once()
            except (ClientError, BotoCoreError):
                logger.exception("polling the scoring queue failed; retrying")
                time.sleep(ERROR_PAUSE_SECONDS)
            between()

    def stop(self, *_: Any) -> None:
        self.running = False


def _event_sources(
    settings: Settings, drain_seconds: float, report_seconds: float
) -> Callable[[], None]:
    """One round of the stream poller and the schedules (errors logged, never fatal)."""
    import app

    streams = boto3.session.Session().client(
        "dynamodbstreams",
        region_name=settings.region,
        endpoint_url=settings.endpoint_url,
        config=STREAMS_CONFIG,
    )
    dynamodb = aws.client("dynamodb", settings.region, settings.endpoint_url)
    table = dynamodb.describe_table(TableName=settings.decisions_table)["Table"]
    poller = StreamPoller(streams, table["LatestStreamArn"], app.publish_alerts)
    schedules = [
        Schedule("drain_alert_outbox", app.drain_alert_outbox, drain_seconds, settings.region),
        Schedule("daily_report", app.daily_report, report_seconds, settings.region),
    ]

    def between() -> None:
        try:
            poller.poll_once()
        except (ClientError, BotoCoreError):
            logger.exception("cannot read the decisions stream")
        for schedule in schedules:
            schedule.run_if_due()

    return between


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Feed the local event sources to the app.")
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--retry-seconds", type=int, default=2)
    parser.add_argument("--drain-seconds", type=float, default=DRAIN_SECONDS)
    parser.add_argument("--report-seconds", type=float, default=REPORT_SECONDS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.from_environ()
    from app import score_queue

    worker = QueueWorker(
        aws.client("sqs", settings.region, settings.endpoint_url),
        args.queue_url,
        score_queue,
        settings.region,
        args.retry_seconds,
    )
    between = _event_sources(settings, args.drain_seconds, args.report_seconds)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    worker.run(between)
    return 0


if __name__ == "__main__":
    sys.exit(main())
