"""``fraudctl evaluate``: the Handbook's protocol on a labelled file, beside its figures."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

from fraudctl.commands.model_options import add_model_arguments, model_label, model_spec
from fraudctl.data import read_transactions
from fraudctl.errors import CommandError
from fraudctl.evaluation.metrics import json_safe
from fraudctl.evaluation.protocol import (
    DEFAULT_FOLDS,
    FOLD_STEP_DAYS,
    HANDBOOK_TRAIN_FROM,
    ProtocolError,
    Split,
    folds,
)
from fraudctl.evaluation.runner import evaluate_folds, report
from fraudctl.training.errors import TrainingError
from fraudctl.training.featuresets import features_for


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="assess a model with the Handbook's protocol",
        description="Fit on a training window, skip the label delay, score the test window "
        "without the customers known to be compromised, and print AUC, AP and Card "
        "Precision@100 beside the Handbook's published figures; then the same over "
        f"--folds weekly folds (fold k: everything {FOLD_STEP_DAYS} x k days earlier) "
        "and their mean.",
    )
    parser.add_argument("--data", type=Path, required=True, help="labelled CSV (is_fraud)")
    parser.add_argument(
        "--train-from",
        type=date.fromisoformat,
        default=HANDBOOK_TRAIN_FROM,
        help=f"first training day of fold 0 (default {HANDBOOK_TRAIN_FROM}, the Handbook's)",
    )
    parser.add_argument("--train-days", type=int, default=7, help="training window (days)")
    parser.add_argument("--delay-days", type=int, default=7, help="label delay (days)")
    parser.add_argument("--test-days", type=int, default=7, help="test window (days)")
    parser.add_argument(
        "--folds", type=int, default=DEFAULT_FOLDS, help=f"weekly folds (default {DEFAULT_FOLDS})"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    add_model_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.data.is_file():
        raise CommandError(f"{args.data} does not exist")
    spec = model_spec(args)
    started = time.perf_counter()
    try:
        split = Split(args.train_from, args.train_days, args.delay_days, args.test_days)
        frame = read_transactions(args.data)
        features = features_for(frame, spec.features)
        results = evaluate_folds(frame, features, spec, folds(split, args.folds))
    except (ProtocolError, TrainingError) as exc:
        raise CommandError(str(exc)) from exc
    print(report(results, model_label(args, spec)))
    if args.json:
        document = {"model": spec.to_dict(), "folds": [r.to_dict() for r in results]}
        args.json.write_text(json.dumps(json_safe(document), indent=2) + "\n")
    print(f"evaluated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0
