"""``fraudctl replay``: send a file to a running API and keep its scores."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime

from fraudctl.api import add_api_arguments, api_from_args
from fraudctl.commands.score import add_replay_arguments, finish
from fraudctl.data import read_transactions
from fraudctl.errors import CommandError
from fraudctl.offline.http_target import ApiTarget, HttpTransport
from fraudctl.offline.replay import replay

API_KEY_VARIABLE = "FRAUD_API_KEY"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="send a file to a running API in time order and write its scores",
        description="POST every transaction dated before --to to /v1/score in time order, "
        "labels to /v1/feedback --label-delay-days after each transaction; write "
        "transaction_id,score,decision for rows in [--from, --to). Rows the API refuses "
        "(HTTP 400) are listed in <out>.refused.csv. Labels sent to a deployed API are "
        "signed with SigV4 from the default AWS credentials, as /v1/feedback requires.",
    )
    add_api_arguments(parser, author=False)
    parser.add_argument(
        "--api-key",
        default=os.environ.get(API_KEY_VARIABLE),
        help=f"x-api-key (${API_KEY_VARIABLE})",
    )
    add_replay_arguments(parser, dates_required=False)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.data.is_file():
        raise CommandError(f"{args.data} does not exist")
    url, signer = api_from_args(args)
    started = datetime.now(UTC)
    scores = HttpTransport(url, args.api_key)
    target = ApiTarget(scores, HttpTransport(url, signer=signer) if signer else scores)
    result = replay(
        read_transactions(args.data), target, args.start, args.end, args.label_delay_days
    )
    finish(result, args.out, started)
    return 0
