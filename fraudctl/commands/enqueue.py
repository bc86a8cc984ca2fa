"""``fraudctl enqueue``: put transactions on the running stack's scoring queue.

One message per transaction (the contract's JSON body), sent in batches of 10. The
worker (``make run``) or, on AWS, the SQS-triggered function scores them.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chalicelib.transaction import OPTIONAL_STRING_FIELDS, REQUIRED_STRING_FIELDS
from fraudctl.data import read_transactions
from fraudctl.errors import CommandError
from fraudctl.stackinfo import load_stack, stack_client

SQS_BATCH = 10
# Every contract field but the timestamp (formatted separately) and metadata (no column).
PAYLOAD_COLUMNS = (
    "transaction_id",
    "amount",
    "currency",
    *REQUIRED_STRING_FIELDS,
    *OPTIONAL_STRING_FIELDS,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "enqueue",
        help="send transactions to the local stack's scoring queue",
        description="Send transactions to the scoring queue of the stack in .local/stack.json "
        "(or --queue-url), one message per transaction.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="transactions CSV (.gz ok)")
    source.add_argument("--body", help="one transaction as a JSON object")
    parser.add_argument("--queue-url", help="queue (default: the local stack's)")
    parser.set_defaults(func=run)


def payloads(path: Path) -> Iterator[dict[str, Any]]:
    """The contract payload of every row of a transactions file, in replay order."""
    frame = read_transactions(path)
    columns = [c for c in PAYLOAD_COLUMNS if c in frame]
    stamps = frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    for index, row in enumerate(frame[columns].itertuples(index=False)):
        payload = {"timestamp": stamps.iat[index]}
        for name, value in zip(columns, row, strict=True):
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                payload[name] = value
        yield payload


def run(args: argparse.Namespace) -> int:
    stack = load_stack()
    sqs = stack_client("sqs", stack)
    queue_url = args.queue_url or stack["scoring_queue_url"]
    if args.body:
        try:
            messages: Iterator[dict[str, Any]] = iter([json.loads(args.body)])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--body is not JSON: {exc}") from exc
    else:
        messages = payloads(args.data)
    sent = 0
    batch: list[dict[str, Any]] = []
    for payload in messages:
        batch.append(payload)
        if len(batch) == SQS_BATCH:
            sent += _send(sqs, queue_url, batch)
            batch = []
    if batch:
        sent += _send(sqs, queue_url, batch)
    print(f"{sent} messages sent to {queue_url}")
    return 0


def _send(sqs: Any, queue_url: str, batch: list[dict[str, Any]]) -> int:
    response = sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": str(i), "MessageBody": json.dumps(p, default=str)} for i, p in enumerate(batch)
        ],
    )
    if response.get("Failed"):
        raise CommandError(f"the queue refused {len(response['Failed'])} messages")
    return len(batch)
