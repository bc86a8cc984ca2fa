"""``fraudctl train``: fit a model on a transactions file and write its artifact."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fraudctl.commands.model_options import add_model_arguments, model_spec
from fraudctl.errors import CommandError
from fraudctl.training.errors import TrainingError
from fraudctl.training.pipeline import TrainingConfig, train_file
from fraudctl.training.thresholds import BLOCK_RULES, ThresholdPolicy, ThresholdPolicyError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model and write its artifact directory",
        description="Compute features over the file's whole history, fit on rows dated in "
        "[--train-from, --train-to), compile the model to numpy, choose the decision "
        "thresholds on the validation days that follow the label delay, report on the test "
        "days after them, and write model.joblib and manifest.json into --out.",
    )
    parser.add_argument("--data", type=Path, required=True, help="labelled CSV (is_fraud)")
    parser.add_argument("--train-from", required=True, help="first day (ISO date)")
    parser.add_argument("--train-to", required=True, help="day after the last (ISO date)")
    parser.add_argument("--out", type=Path, required=True, help="artifact directory")
    parser.add_argument(
        "--save-estimator",
        action="store_true",
        help="also write the fitted scikit-learn estimator (estimator.joblib, offline use only)",
    )
    add_model_arguments(parser)
    slices = parser.add_argument_group("validation and test slices")
    slices.add_argument("--delay-days", type=int, default=7, help="label delay (default 7)")
    slices.add_argument("--validation-days", type=int, default=7, help="default 7")
    slices.add_argument("--test-days", type=int, default=7, help="default 7; 0: no test slice")
    policy = parser.add_argument_group("decision thresholds (chosen on the validation slice)")
    defaults = ThresholdPolicy()
    policy.add_argument(
        "--review-rate",
        type=float,
        default=defaults.review_rate,
        help=f"review capacity: largest share of transactions reviewed ({defaults.review_rate})",
    )
    policy.add_argument(
        "--block-rule",
        choices=BLOCK_RULES,
        default=defaults.block_rule,
        help="block at a precision target, or a share of transactions (default precision)",
    )
    policy.add_argument("--block-precision", type=float, default=defaults.block_precision)
    policy.add_argument("--block-rate", type=float, default=defaults.block_rate)
    policy.add_argument(
        "--review-cost",
        type=float,
        help="cost-based review: review when score x amount reaches this cost (currency units)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.data.is_file():
        raise CommandError(f"{args.data} does not exist")
    try:
        policy = ThresholdPolicy(
            review_rate=args.review_rate,
            block_rule=args.block_rule,
            block_precision=args.block_precision,
            block_rate=args.block_rate,
            review_cost=args.review_cost,
        )
        config = TrainingConfig(
            args.train_from,
            args.train_to,
            spec=model_spec(args),
            policy=policy,
            delay_days=args.delay_days,
            validation_days=args.validation_days,
            test_days=args.test_days,
            save_estimator=args.save_estimator,
        )
        manifest = train_file(args.data, config, args.out)
    except (TrainingError, ThresholdPolicyError) as exc:
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
