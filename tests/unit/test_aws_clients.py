"""The one place clients are made (chalicelib/aws.py): the services and operations the
functions call, from trimmed models, without botocore listing its whole data directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore import xform_name
from botocore.exceptions import UnknownServiceError

from chalicelib import aws
from fraudctl.deploy import aws_models

REGION = "eu-west-1"


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    aws.reset_clients()
    yield
    aws.reset_clients()


def test_every_called_service_gets_a_client_without_listing_the_data_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listed: list[str] = []
    listdir = os.listdir

    def counting(path: str) -> list[str]:
        listed.append(path)
        return listdir(path)

    monkeypatch.setattr(os, "listdir", counting)
    for service in aws.SERVICES:
        made = aws.client(service, REGION, "http://localhost:5000")
        assert made.meta.service_model.service_name == service
        assert made.meta.endpoint_url == "http://localhost:5000"
    # botocore's own loader lists each of its ~440 service directories, twice; this one
    # lists a service's directory in the trimmed models, botocore's and boto3's data, per
    # kind of file.
    assert 0 < len(listed) <= 6 * len(aws.SERVICES)


def test_a_service_the_functions_do_not_call_is_unknown() -> None:
    with pytest.raises(UnknownServiceError) as caught:
        aws.client("ec2", REGION)
    assert "dynamodb, s3, sns, sqs, ssm" in str(caught.value)


def test_the_trimmed_models_are_searched_first_then_aws_data_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    loader = aws._session().get_component("data_loader")
    assert isinstance(loader, aws.ServicesLoader)
    assert loader.search_paths[:2] == [str(aws.MODELS), str(tmp_path)]


def test_each_client_knows_the_operations_the_functions_call_and_no_other() -> None:
    for service, operations in aws.OPERATIONS.items():
        made = aws.client(service, REGION, "http://localhost:5000")
        assert made.meta.service_model.operation_names == sorted(operations)
        for operation in operations:
            assert callable(getattr(made, xform_name(operation)))


def test_the_committed_models_are_what_make_aws_models_writes(tmp_path: Path) -> None:
    written = aws_models.write_models(tmp_path)

    committed = sorted(p.relative_to(aws.MODELS) for p in aws.MODELS.rglob("*.json"))
    assert committed == sorted(p.relative_to(tmp_path) for p in written), "make aws-models"
    for path in written:
        assert path.read_text() == (aws.MODELS / path.relative_to(tmp_path)).read_text()


def test_a_trimmed_model_keeps_the_shapes_its_operations_reach_without_documentation() -> None:
    full = {
        "version": "2.0",
        "metadata": {"protocol": "json"},
        "documentation": "A service.",
        "operations": {
            "Get": {"input": {"shape": "GetInput"}, "errors": [{"shape": "Missing"}]},
            "Put": {"input": {"shape": "PutInput"}},
        },
        "shapes": {
            "GetInput": {
                "type": "structure",
                "members": {"documentation": {"shape": "Names", "documentation": "d"}},
                "documentation": "The input.",
            },
            "Names": {"type": "list", "member": {"shape": "Name"}},
            "Name": {"type": "string"},
            "Missing": {"type": "structure", "members": {}, "exception": True},
            "PutInput": {"type": "structure", "members": {}},
        },
    }

    trimmed = aws_models.trimmed_model(full, ["Get"])

    assert trimmed == {
        "version": "2.0",
        "metadata": {"protocol": "json"},
        "operations": {"Get": {"input": {"shape": "GetInput"}, "errors": [{"shape": "Missing"}]}},
        "shapes": {
            "GetInput": {"type": "structure", "members": {"documentation": {"shape": "Names"}}},
            "Names": {"type": "list", "member": {"shape": "Name"}},
            "Name": {"type": "string"},
            "Missing": {"type": "structure", "members": {}, "exception": True},
        },
    }
