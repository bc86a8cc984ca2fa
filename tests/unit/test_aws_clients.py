"""The one place clients are made (chalicelib/aws.py): the services the functions call,
made without botocore listing its whole data directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import UnknownServiceError

from chalicelib import aws

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
    # lists a service's directory in botocore's and boto3's data, per kind of file.
    assert 0 < len(listed) <= 4 * len(aws.SERVICES)


def test_a_service_the_functions_do_not_call_is_unknown() -> None:
    with pytest.raises(UnknownServiceError) as caught:
        aws.client("ec2", REGION)
    assert "dynamodb, s3, sns, sqs, ssm" in str(caught.value)


def test_data_paths_from_aws_data_path_are_searched_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    loader = aws._session()._session.get_component("data_loader")
    assert isinstance(loader, aws.ServicesLoader)
    assert loader.search_paths[0] == str(tmp_path)
