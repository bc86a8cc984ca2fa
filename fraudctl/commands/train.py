"""``fraudctl train``: fit a model on a transactions file and write its artifact."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fraudctl.errors import CommandError
from fraudctl.training.pipeline import TrainingConfig, TrainingError, train_file


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model and write its artifact directory",
        description="Compute features over the file's whole history, fit on rows dated in "
        "[--train-from, --train-to), compile the model to numpy and write model.joblib "
        "and manifest.json into --out.",
    )
    parser.add_argument("--data", type=Path, required=True, help="labelled CSV (is_fraud)")
    parser.add_argument("--train-from", required=True, help="first day (ISO date)")
    parser.add_argument("--train-to", required=True, help="day after the last (ISO date)")
    parser.add_argument("--out", type=Path, required=True, help="artifact directory")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.data.is_file():
        raise CommandError(f"{args.data} does not exist")
    try:
        manifest = train_file(args.data, TrainingConfig(args.train_from, args.train_to), args.out)
    except TrainingError as exc:
        raise CommandError(str(exc)) from exc
    summary = {
        "version": manifest["version"],
        "kind": manifest["kind"],
        "out": str(args.out),
        "thresholds": manifest["thresholds"],
        "metrics": manifest["metrics"],
    }
    print(json.dumps(summary, indent=2))
    return 0
