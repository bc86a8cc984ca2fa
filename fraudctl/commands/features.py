"""``fraudctl features``: the features of every transaction of a file, vectorised."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fraudctl.data import read_transactions
from fraudctl.errors import CommandError
from fraudctl.offline.features import compute_features, write_frame


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "features",
        help="compute the features of a transactions file",
        description="Write transaction_id plus one column per feature, computed with the "
        "definitions the functions serve (labels known for every row).",
    )
    parser.add_argument("--data", type=Path, required=True, help="transactions CSV (.gz ok)")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write (.gz ok)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.data.is_file():
        raise CommandError(f"{args.data} does not exist")
    started = time.perf_counter()
    frame = read_transactions(args.data)
    features = compute_features(frame)
    write_frame(features, args.out)
    elapsed = time.perf_counter() - started
    print(
        f"{len(frame):,} transactions, {features.shape[1] - 1} features in {elapsed:.1f}s "
        f"({len(frame) / elapsed:,.0f} transactions/s) -> {args.out}",
        file=sys.stderr,
    )
    return 0
