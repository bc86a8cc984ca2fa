"""The one place clients are made (chalicelib/aws.py): the services and operations the
functions call, from trimmed models and endpoints that resolve as botocore's own data
does, without botocore listing its whole data directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
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


class _Sent(Exception):
    """Raised in place of sending: carries the prepared request."""

    def __init__(self, request: Any) -> None:
        super().__init__(request.url)
        self.request = request


def _raise_sent(request: Any, **_: Any) -> None:
    raise _Sent(request)


CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "dynamodb": ("get_item", {"TableName": "t", "Key": {"k": {"S": "v"}}}),
    "s3": ("get_object", {"Bucket": "bucket-1", "Key": "k"}),
    "sns": ("publish", {"TopicArn": "arn:aws:sns:{region}:123456789012:t", "Message": "m"}),
    "sqs": (
        "send_message",
        {"QueueUrl": "https://sqs.{region}.amazonaws.com/123456789012/q", "MessageBody": "m"},
    ),
    "ssm": ("get_parameter", {"Name": "n"}),
}


def _sent(made: Any, service: str, region: str) -> tuple[str, str]:
    """The URL and credential scope of ``CALLS[service]`` as ``made`` would send it."""
    operation, params = CALLS[service]
    made.meta.events.register("before-send", _raise_sent)
    with pytest.raises(_Sent) as sent:
        getattr(made, operation)(
            **{k: v.format(region=region) if isinstance(v, str) else v for k, v in params.items()}
        )
    authorization = sent.value.request.headers["Authorization"].decode()
    return sent.value.request.url, authorization.split("Credential=x/")[1].split(",")[0]


ENDPOINT_CASES = [
    *((region, {}) for region in ("eu-west-1", "ap-southeast-2", "cn-north-1")),
    *(
        (region, {setting: "true"})
        for region in ("us-east-1", "us-gov-west-1")
        for setting in ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT")
    ),
]


@pytest.mark.parametrize(("region", "settings"), ENDPOINT_CASES)
def test_trimmed_endpoints_resolve_each_call_as_botocore_own_data_does(
    monkeypatch: pytest.MonkeyPatch, region: str, settings: dict[str, str]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    stock = botocore.session.get_session()
    for service in aws.SERVICES:
        ours = _sent(aws.client(service, region), service, region)
        theirs = _sent(stock.create_client(service, region_name=region), service, region)
        assert ours == theirs
        assert region in ours[1]
