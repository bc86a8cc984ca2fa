"""``fraudctl feedback --data labels.csv``: analysts' labels sent through the API.

The file has the columns ``transaction_id`` and ``is_fraud`` (``0``/``1`` or
``false``/``true``; gzipped or not). Each row is one ``POST /v1/feedback``, so the API's
validation applies and a label can flip; rows the API refuses (an unknown transaction, a
bad value) are reported with their line and the API's reason, and the command then exits
with status 1.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fraudctl.api import (
    ApiClient,
    ApiError,
    Send,
    add_api_arguments,
    client_from_args,
    urllib_send,
)
from fraudctl.errors import CommandError

COLUMNS = ("transaction_id", "is_fraud")
TRUE, FALSE = frozenset({"1", "true"}), frozenset({"0", "false"})


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "feedback",
        help="send analysts' labels (transaction_id,is_fraud) through the API",
        description=(__doc__ or "").split("\n\n")[1],
    )
    parser.add_argument("--data", type=Path, required=True, help="labels CSV (.gz ok)")
    add_api_arguments(parser)
    parser.set_defaults(func=run)


def open_text(path: Path) -> io.TextIOBase:
    """A CSV file for reading, gunzipped when its name ends in ``.gz``."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", newline="")  # type: ignore[return-value]
    return path.open(newline="")  # type: ignore[return-value]


def label_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, feedback body) of every row; ``is_fraud`` becomes a boolean when it
    reads as one and is sent as written otherwise (the API then refuses it).

    Raises
    ------
    CommandError
        The file lacks a column.
    """
    with open_text(path) as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CommandError(f"{path}: missing columns {missing}")
        for row in reader:
            raw = (row["is_fraud"] or "").strip()
            flag: Any = True if raw.lower() in TRUE else False if raw.lower() in FALSE else raw
            yield reader.line_num, {"transaction_id": row["transaction_id"], "is_fraud": flag}


def send_labels(client: ApiClient, path: Path) -> dict[str, Any]:
    """Send every label; returns counts and the refused rows (line, id, reason)."""
    changed = unchanged = 0
    refused: list[dict[str, Any]] = []
    for line, body in label_rows(path):
        try:
            answer = client.request("POST", "/v1/feedback", body)
        except ApiError as exc:
            if exc.status >= 500:
                raise
            refused.append(
                {"line": line, "transaction_id": body["transaction_id"], "reason": str(exc)}
            )
            continue
        if answer.get("changed"):
            changed += 1
        else:
            unchanged += 1
    return {"changed": changed, "unchanged": unchanged, "refused": refused}


def run(args: argparse.Namespace, send: Send = urllib_send) -> int:
    outcome = send_labels(client_from_args(args, send), args.data)
    refused = outcome["refused"]
    for row in refused:
        print(f"line {row['line']} ({row['transaction_id']}): {row['reason']}", file=sys.stderr)
    print(
        f"{outcome['changed'] + outcome['unchanged'] + len(refused)} labels: "
        f"{outcome['changed']} changed, {outcome['unchanged']} unchanged, {len(refused)} refused"
    )
    return 1 if refused else 0
