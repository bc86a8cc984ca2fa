"""``fraudctl alerts [--follow]``: print the local stack's alerts as JSON lines.

``make run`` subscribes a queue to the alerts topic; this command drains it (and keeps
polling with ``--follow``), printing each alert's body with its attributes.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from fraudctl.stackinfo import load_stack, stack_client

POLL_SECONDS = 5


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "alerts",
        help="print alerts published by the local stack",
        description="Read the alerts published to the local stack's topic (through the "
        "queue make run subscribes to it) and print one JSON line per alert.",
    )
    parser.add_argument("--follow", action="store_true", help="keep waiting for new alerts")
    parser.set_defaults(func=run)


def format_alert(message: dict[str, Any]) -> str:
    body = json.loads(message["Body"])
    attributes = {
        name: value.get("StringValue")
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return json.dumps({"attributes": attributes, **body}, default=str)


def run(args: argparse.Namespace) -> int:
    stack = load_stack()
    sqs = stack_client("sqs", stack)
    url = stack["alerts_queue_url"]
    while True:
        response = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=POLL_SECONDS if args.follow else 1,
        )
        messages = response.get("Messages", [])
        for message in messages:
            print(format_alert(message), flush=True)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if not messages and not args.follow:
            return 0
