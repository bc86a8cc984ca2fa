"""Command-line options describing a model, shared by ``fraudctl train`` and ``evaluate``.

``--preset NAME`` (``fraudctl.training.presets``) fills the kind, features, class weight,
anomaly input and hyper-parameters; ``--features``, ``--class-weight``, ``--anomaly-input``
and ``--param`` given beside it take precedence, and a ``--model`` other than the preset's
is refused (its hyper-parameters belong to its kind).
"""

from __future__ import annotations

import argparse

from fraudctl.errors import CommandError
from fraudctl.training.estimators import (
    CLASS_WEIGHTS,
    DEFAULT_KIND,
    MODEL_KINDS,
    ModelOptionError,
    parse_params,
)
from fraudctl.training.featuresets import (
    DEFAULT_SET,
    FeatureSetError,
    feature_sets,
)
from fraudctl.training.fitting import ModelSpec
from fraudctl.training.presets import PRESETS, Preset, preset


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--model``, ``--features``, ``--param``, ``--class-weight``, the anomaly options,
    ``--seed`` and ``--jobs`` to ``parser``."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        help="a named configuration (kind, features, hyper-parameters; docs/models.md); "
        "the options below take precedence over it",
    )
    group.add_argument(
        "--model",
        choices=MODEL_KINDS,
        help=f"model kind (default {DEFAULT_KIND}); anomaly: an isolation forest alone",
    )
    group.add_argument(
        "--features",
        help=f"a feature set ({', '.join(feature_sets())}) or comma-separated features "
        f"(default {DEFAULT_SET})",
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


def _preset(args: argparse.Namespace) -> Preset:
    """The preset the options name, or the defaults as an unnamed one."""
    if args.preset is None:
        return Preset("", args.model or DEFAULT_KIND, DEFAULT_SET)
    chosen = preset(args.preset)
    if args.model is not None and args.model != chosen.kind:
        raise ModelOptionError(f"--preset {chosen.name} is a {chosen.kind} model, not {args.model}")
    return chosen


def model_spec(args: argparse.Namespace) -> ModelSpec:
    """The ``ModelSpec`` the options describe (a preset filling what they do not say).

    Raises
    ------
    CommandError
        An unknown feature, hyper-parameter or class weight, or contradictory options.
    """
    try:
        return _preset(args).spec(
            features=args.features,
            params=parse_params(args.param),
            class_weight=args.class_weight,
            anomaly_input=args.anomaly_input,
            anomaly=args.anomaly,
            anomaly_params=parse_params(args.anomaly_param),
            seed=args.seed,
            jobs=args.jobs,
        )
    except (ModelOptionError, FeatureSetError) as exc:
        raise CommandError(str(exc)) from exc


def model_label(args: argparse.Namespace, spec: ModelSpec) -> str:
    """How reports name the model: ``forest (preset P: all, 25 features)``."""
    features = args.features or _preset(args).features
    preset_part = f"preset {spec.preset}: " if spec.preset else ""
    return f"{spec.kind} ({preset_part}{features}, {len(spec.features)} features)"
