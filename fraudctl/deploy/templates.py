"""CloudFormation templates of ``infra/`` read as plain data.

YAML short-form intrinsics (``!Sub``, ``!Ref``, ``!GetAtt a.b``, ``!ImportValue`` ...) are
read into their long JSON form (``{"Fn::Sub": ...}``, ``{"Ref": ...}``,
``{"Fn::GetAtt": ["a", "b"]}``), which is what CloudFormation, Chalice's
``--merge-template`` and the tests work with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

INFRA = Path(__file__).resolve().parents[2] / "infra"
RESOURCES_TEMPLATE = INFRA / "resources.yaml"
APP_TEMPLATE = INFRA / "app.yaml"
POLICIES = INFRA / "policies.yaml"


class _TemplateLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short-form tags into long-form intrinsics."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def load(path: Path) -> dict[str, Any]:
    """A CloudFormation YAML (or JSON) file as a dictionary with long-form intrinsics."""
    return yaml.load(path.read_text(), Loader=_TemplateLoader)  # noqa: S506 (a SafeLoader)


def scoring_queue_name(stage: str, template: Path = RESOURCES_TEMPLATE) -> str:
    """The name ``infra/resources.yaml`` gives the scoring queue of ``stage``.

    Chalice needs it when packaging (``FRAUD_SCORING_QUEUE``) to point the SQS event
    source at the stage's queue.
    """
    name = load(template)["Resources"]["ScoringQueue"]["Properties"]["QueueName"]["Fn::Sub"]
    return name.replace("${Stage}", stage)
