"""Named model configurations: a kind, its inputs and hyper-parameters under one name.

``fraudctl evaluate --preset NAME`` and ``fraudctl train --preset NAME`` reproduce a
configuration whose figures are published in ``bench/RESULTS.md``; options given beside it
(``--model``, ``--features``, ``--class-weight``, ``--anomaly-input``, ``--param``) take
precedence over the preset's. ``PRESETS`` holds them, each with how it was chosen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from fraudctl.training.estimators import ModelOptionError, parse_class_weight
from fraudctl.training.featuresets import resolve_features
from fraudctl.training.fitting import ModelSpec


@dataclass(frozen=True)
class Preset:
    """A named model configuration.

    Attributes
    ----------
    name:
        What ``--preset`` takes.
    kind:
        A model kind (``estimators.MODEL_KINDS``).
    features:
        A feature set name or comma-separated features (``featuresets.resolve_features``).
    params:
        Hyper-parameters over the kind's defaults.
    class_weight:
        As ``--class-weight`` reads it (``none``, ``balanced`` or the fraud class's weight).
    anomaly_input:
        Whether the isolation forest's score is an input.
    summary:
        One line: what it is and how its settings were chosen.
    """

    name: str
    kind: str
    features: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    class_weight: str = "none"
    anomaly_input: bool = False
    summary: str = ""

    def spec(
        self,
        features: str | None = None,
        params: Mapping[str, Any] | None = None,
        class_weight: str | None = None,
        anomaly_input: bool = False,
        **options: Any,
    ) -> ModelSpec:
        """The ``ModelSpec`` of this preset; ``features`` and ``class_weight`` given replace
        the preset's, ``params`` are applied over its, ``anomaly_input`` adds to it, and
        ``options`` (``anomaly``, ``anomaly_params``, ``seed``, ``jobs``) pass through.

        Raises
        ------
        ModelOptionError, FeatureSetError
            As ``ModelSpec`` and ``resolve_features``.
        """
        return ModelSpec(
            kind=self.kind,
            features=resolve_features(features or self.features),
            params={**self.params, **(params or {})},
            class_weight=parse_class_weight(class_weight or self.class_weight),
            anomaly_input=anomaly_input or self.anomaly_input,
            preset=self.name or None,
            **options,
        )


VELOCITY_FOREST = Preset(
    name="velocity-forest",
    kind="forest",
    features="velocity",
    params=MappingProxyType(
        {"n_estimators": 300, "min_samples_leaf": 3, "max_features": 0.5, "max_samples": 0.3}
    ),
    class_weight="10",
    summary="random forest on the 25 velocity features: 300 trees, each on a bootstrap 30 % "
    "of the rows, half of the features tried per split, leaves of 3 rows or more, frauds "
    "weighted 10; chosen on the Handbook's three folds before the chapter-3 one "
    "(bench/RESULTS.md)",
)
PRESETS: dict[str, Preset] = {VELOCITY_FOREST.name: VELOCITY_FOREST}
RECOMMENDED = VELOCITY_FOREST.name
"""The preset meeting the quality floor of issue 4 on the Handbook's chapter-3 split."""


def preset(name: str) -> Preset:
    """The preset called ``name``.

    Raises
    ------
    ModelOptionError
        No preset has that name.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ModelOptionError(
            f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}"
        ) from None
