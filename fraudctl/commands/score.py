"""``fraudctl score``: replay a file through the online scoring code, in process."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from fraudctl.data import read_transactions
from fraudctl.errors import CommandError
from fraudctl.offline.replay import (
    DEFAULT_LABEL_DELAY_DAYS,
    ReplayResult,
    ServiceTarget,
    memory_service,
    refusals_path,
    replay,
    summary,
    write_refusals,
    write_scores,
)


def add_replay_arguments(parser: argparse.ArgumentParser, dates_required: bool) -> None:
    """The arguments ``score`` and ``replay`` share."""
    parser.add_argument("--data", type=Path, required=True, help="transactions CSV (.gz ok)")
    parser.add_argument(
        "--from", dest="start", required=dates_required, help="first day scored (ISO date)"
    )
    parser.add_argument(
        "--to", dest="end", required=dates_required, help="day after the last (ISO date)"
    )
    parser.add_argument(
        "--label-delay-days",
        type=int,
        default=DEFAULT_LABEL_DELAY_DAYS,
        help="labels (is_fraud) are sent as feedback this long after each transaction",
    )
    parser.add_argument("--out", type=Path, required=True, help="scores CSV to write")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "score",
        help="score a file with a model through the online feature code",
        description="Replay the file in time order through the scoring service (in-memory "
        "state, the online feature code), labels sent as feedback --label-delay-days after "
        "each transaction; write transaction_id,score,decision for rows in [--from, --to). "
        "Rows the service refuses are listed in <out>.refused.csv.",
    )
    parser.add_argument("--model", type=Path, required=True, help="model artifact directory")
    add_replay_arguments(parser, dates_required=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.data.is_file():
        raise CommandError(f"{args.data} does not exist")
    started = datetime.now(UTC)
    target = ServiceTarget(memory_service(args.model))
    result = replay(
        read_transactions(args.data), target, args.start, args.end, args.label_delay_days
    )
    finish(result, args.out, started)
    return 0


def finish(result: ReplayResult, out: Path, started: datetime) -> None:
    """Write the scores and the refusals, and tell the user."""
    write_scores(result.scored, out)
    if result.refused:
        write_refusals(result.refused, refusals_path(out))
    print(summary(result, out, started), file=sys.stderr)
