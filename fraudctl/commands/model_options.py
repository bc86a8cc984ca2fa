"""Command-line options describing a model, shared by ``fraudctl train`` and ``evaluate``."""

from __future__ import annotations

import argparse

from fraudctl.errors import CommandError
from fraudctl.training.estimators import (
    CLASS_WEIGHTS,
    DEFAULT_KIND,
    MODEL_KINDS,
    ModelOptionError,
    parse_class_weight,
    parse_params,
)
from fraudctl.training.featuresets import DEFAULT_SET, FeatureSetError, resolve_features
from fraudctl.training.fitting import ModelSpec


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--model``, ``--features``, ``--param``, ``--class-weight``, the anomaly options,
    ``--seed`` and ``--jobs`` to ``parser``."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model",
        choices=MODEL_KINDS,
        default=DEFAULT_KIND,
        help=f"model kind (default {DEFAULT_KIND}); anomaly: an isolation forest alone",
    )
    group.add_argument(
        "--features",
        default=DEFAULT_SET,
        help=f"a feature set (handbook, all) or comma-separated features (default {DEFAULT_SET})",
    )
    group.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="estimator hyper-parameter, repeatable (value read as JSON: 300, 0.1, null, true)",
    )
    group.add_argument(
        "--class-weight",
        default="none",
        metavar="|".join(CLASS_WEIGHTS) + "|W",
        help="class weighting: none (default), balanced, or the fraud class's weight W",
    )
    group.add_argument(
        "--anomaly",
        action="store_true",
        help="ship an isolation forest too: transactions get anomaly_score (rules can read it)",
    )
    group.add_argument(
        "--anomaly-input",
        action="store_true",
        help="fit the isolation forest first and feed its score to the model (implies --anomaly)",
    )
    group.add_argument(
        "--anomaly-param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="isolation forest hyper-parameter, repeatable",
    )
    group.add_argument("--seed", type=int, default=0, help="random_state of every estimator")
    group.add_argument(
        "--jobs", type=int, default=None, help="parallel jobs of forests (default: one)"
    )


def model_spec(args: argparse.Namespace) -> ModelSpec:
    """The ``ModelSpec`` the options describe.

    Raises
    ------
    CommandError
        An unknown feature, hyper-parameter or class weight, or contradictory options.
    """
    try:
        return ModelSpec(
            kind=args.model,
            features=resolve_features(args.features),
            params=parse_params(args.param),
            class_weight=parse_class_weight(args.class_weight),
            anomaly=args.anomaly,
            anomaly_input=args.anomaly_input,
            anomaly_params=parse_params(args.anomaly_param),
            seed=args.seed,
            jobs=args.jobs,
        )
    except (ModelOptionError, FeatureSetError) as exc:
        raise CommandError(str(exc)) from exc
