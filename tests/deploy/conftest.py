"""`make package` run once per stage and session; the packaged templates, expanded from SAM."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from fraudctl.deploy.package import DEPLOYED_STAGES, stage_config
from tests.conftest import REGION, ROOT

# Where `aws cloudformation package` would upload the bundle (SAM wants an S3 CodeUri).
UPLOADED_CODE = "s3://fraud-deploy-artifacts/deployment.zip"


@dataclass(frozen=True)
class Packaged:
    """The output of `make package` for one stage."""

    stage: str
    architecture: str
    out: Path

    @property
    def bundle(self) -> Path:
        return self.out / "deployment.zip"

    @property
    def sam(self) -> dict[str, Any]:
        return json.loads((self.out / "sam.json").read_text())

    def expanded(self) -> dict[str, Any]:
        """The CloudFormation template SAM expands ``sam.json`` into (as on deploy)."""
        sam = copy.deepcopy(self.sam)
        for resource in sam["Resources"].values():
            if resource["Type"] == "AWS::Serverless::Function":
                resource["Properties"]["CodeUri"] = UPLOADED_CODE
        session = boto3.session.Session(region_name=REGION)
        translator = Translator(None, Parser(), boto_session=session)
        return translator.translate(sam, {}, get_managed_policy_map=dict)


def _package(stage: str, out: Path) -> Packaged:
    result = subprocess.run(
        [sys.executable, "-m", "fraudctl.deploy.package", "--stage", stage, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return Packaged(stage, stage_config(stage).lambda_architecture, out)


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Packaged]:
    """Every deployed stage packaged once per session (as `make package STAGE=...`)."""
    return {stage: _package(stage, tmp_path_factory.mktemp(stage)) for stage in DEPLOYED_STAGES}


@pytest.fixture(scope="session", params=DEPLOYED_STAGES)
def packaged(request: pytest.FixtureRequest, packages: dict[str, Packaged]) -> Packaged:
    """One deployed stage's package (tests using it run once per stage)."""
    return packages[request.param]


@pytest.fixture(scope="session")
def expanded(packaged: Packaged) -> dict[str, Any]:
    """The stage's functions stack as CloudFormation resources after the SAM transform."""
    return packaged.expanded()


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}
