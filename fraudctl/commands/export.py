"""``fraudctl export --from D --to D [--out F]``: what production saw, as training data.

Reads the decisions dated in ``[from, to)`` from the stage's decisions table (its
``by_day`` index) and writes the contract's CSV: the transaction fields the service
stores (``transaction_id``, ``timestamp``, ``amount``, ``currency``, ``customer_id``,
``terminal_id`` and the optional ones; e-mail and IP addresses are stored only as keyed
hashes and are left out) and ``is_fraud`` from the analysts' labels, in event-time order.
By default only labelled transactions are written; ``--unlabelled-as-genuine`` writes
every transaction, the unlabelled ones as genuine (``is_fraud`` 0), which keeps the
customers' and terminals' full history for the velocity features that training computes.
``fraudctl train --data`` takes the file as it is.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from chalicelib.errors import StoreError
from chalicelib.transaction import LABEL_FIELD, OPTIONAL_STRING_FIELDS, REQUIRED_STRING_FIELDS
from fraudctl.errors import CommandError
from fraudctl.target import add_target_arguments, resolve_target

HASHED = frozenset({"email", "ip_address"})
COLUMNS = (
    *("transaction_id", "timestamp", "amount", "currency"),
    *REQUIRED_STRING_FIELDS,
    *(name for name in OPTIONAL_STRING_FIELDS if name not in HASHED),
    LABEL_FIELD,
)
READ_FIELDS = (*COLUMNS[:-1], "event_time", "label")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "export",
        help="labelled transactions from the decisions table, as training CSV",
        description=(__doc__ or "").split("\n\n")[1],
    )
    parser.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    parser.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    parser.add_argument("--out", type=Path, help="CSV file (default: standard output)")
    parser.add_argument(
        "--unlabelled-as-genuine",
        action="store_true",
        help="also write unlabelled transactions, with is_fraud 0",
    )
    add_target_arguments(parser)
    parser.set_defaults(func=run)


def training_rows(
    records: Iterable[Mapping[str, Any]], unlabelled_as_genuine: bool
) -> list[dict[str, Any]]:
    """CSV rows of ``records`` in event-time order (then transaction id)."""
    rows = []
    for record in sorted(records, key=lambda r: (r["event_time"], r["transaction_id"])):
        label = record.get("label")
        if label is None and not unlabelled_as_genuine:
            continue
        row = {name: record.get(name) for name in COLUMNS[:-1]}
        row[LABEL_FIELD] = int(bool(label))
        rows.append(row)
    return rows


def write_csv(rows: list[dict[str, Any]], handle: TextIO) -> None:
    writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def run(args: argparse.Namespace) -> int:
    if args.end <= args.start:
        raise CommandError("--to must come after --from")
    log = resolve_target(args).decisions()
    try:
        records = log.days(
            args.start, args.end, READ_FIELDS, labelled_only=not args.unlabelled_as_genuine
        )
    except StoreError as exc:
        raise CommandError(str(exc)) from exc
    rows = training_rows(records, args.unlabelled_as_genuine)
    if args.out:
        with args.out.open("w", newline="") as handle:
            write_csv(rows, handle)
        frauds = sum(row[LABEL_FIELD] for row in rows)
        print(f"{len(rows)} transactions ({frauds} frauds) written to {args.out}")
    else:
        write_csv(rows, sys.stdout)
    return 0
