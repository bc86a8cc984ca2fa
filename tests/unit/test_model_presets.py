"""Named model configurations: what ``--preset`` gives, and what options beside it change."""

from __future__ import annotations

import pytest

from fraudctl.cli import build_parser
from fraudctl.commands.model_options import model_label, model_spec
from fraudctl.errors import CommandError
from fraudctl.training.estimators import ModelOptionError
from fraudctl.training.featuresets import VELOCITY_SET, online_definitions, resolve_features
from fraudctl.training.presets import PRESETS, preset


def spec_of(*options: str):
    args = build_parser().parse_args(["evaluate", "--data", "f.csv", *options])
    return args, model_spec(args)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds_a_model_of_online_features(name):
    chosen = preset(name)

    _, spec = spec_of("--preset", name)

    assert spec == chosen.spec()
    assert (spec.kind, spec.preset) == (chosen.kind, name)
    assert set(spec.features) <= set(online_definitions())
    assert spec.to_dict()["preset"] == name
    assert chosen.summary


def test_options_beside_a_preset_take_precedence():
    name = next(iter(PRESETS))
    chosen = preset(name)

    args, spec = spec_of(
        "--preset", name, "--features", "handbook", "--param", "n_estimators=7", "--seed", "3"
    )

    assert spec.features == resolve_features("handbook")
    assert spec.params == {**chosen.params, "n_estimators": 7}
    assert spec.seed == 3 and spec.kind == chosen.kind
    assert model_label(args, spec) == f"{chosen.kind} (preset {name}: handbook, 15 features)"


def test_without_a_preset_the_defaults_stand():
    args, spec = spec_of()

    assert (spec.kind, spec.features, spec.preset) == (
        "logistic",
        resolve_features("handbook"),
        None,
    )
    assert model_label(args, spec) == "logistic (handbook, 15 features)"


def test_a_preset_refuses_another_kind_and_an_unknown_name():
    name = next(iter(PRESETS))
    other = "logistic" if preset(name).kind != "logistic" else "forest"

    with pytest.raises(CommandError, match=f"is a {preset(name).kind} model"):
        spec_of("--preset", name, "--model", other)
    with pytest.raises(ModelOptionError, match="unknown preset"):
        preset("best")


def test_velocity_set_is_fixed_and_served_online():
    assert resolve_features("velocity") == VELOCITY_SET
    assert len(VELOCITY_SET) == 25 and set(VELOCITY_SET) <= set(online_definitions())
    assert set(resolve_features("handbook")) < set(VELOCITY_SET)
