"""Shared fixtures: a moto AWS with the stage's resources, the default model, the API."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib import runtime
from chalicelib.model.artifact import MANIFEST, MODEL_FILE
from chalicelib.model.registry import ModelRegistry
from fraudctl.local.provision import StackResources, provision
from fraudctl.local.streams import STREAMS_CONFIG, StreamPoller

ROOT = Path(__file__).resolve().parents[1]
EVENTS = Path(__file__).resolve().parent / "events"
DEFAULT_MODEL = ROOT / "model_artifacts" / "default"
REGION = "eu-west-1"
TEST_HASH_KEY = "test-identifier-key"


def load_event(name: str) -> dict[str, Any]:
    """A JSON event fixture from ``tests/events``."""
    return json.loads((EVENTS / name).read_text())


def transaction(**overrides: Any) -> dict[str, Any]:
    """A valid transaction payload with ``overrides`` applied (``None`` removes a field)."""
    payload = load_event("transaction.json")
    for name, value in overrides.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return payload


def sqs_event(bodies: list[str], receive_count: int = 1) -> dict[str, Any]:
    """A Lambda SQS event with one record per body, each with a distinct messageId."""
    template = load_event("sqs_record.json")
    records = []
    for body in bodies:
        record = copy.deepcopy(template)
        record["messageId"] = str(uuid.uuid4())
        record["receiptHandle"] = uuid.uuid4().hex
        record["body"] = body
        record["md5OfBody"] = hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
        records.append(record)
    return {"Records": records}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh moto AWS with fake credentials (clients are created inside)."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    with mock_aws():
        runtime.reset()
        yield
        runtime.reset()


@pytest.fixture
def stack(aws: None, monkeypatch: pytest.MonkeyPatch) -> StackResources:
    """The stage's resources provisioned from infra/ and the app's environment set."""
    resources = provision(boto3.session.Session(region_name=REGION), "test")
    for name, value in resources.environment(endpoint_url=None).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FRAUD_ID_HASH_KEY", TEST_HASH_KEY)
    return resources


def artifact_files(directory: Path = DEFAULT_MODEL) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in (MANIFEST, MODEL_FILE)}


@pytest.fixture
def registry(stack: StackResources) -> ModelRegistry:
    return ModelRegistry(
        boto3.client("s3", region_name=REGION), stack.bucket, f"models/{stack.stage}"
    )


@pytest.fixture
def published_model(registry: ModelRegistry) -> str:
    """The default model published and activated; returns its version."""
    version = registry.publish(artifact_files())
    registry.activate(version)
    return version


@pytest.fixture
def api(published_model: str) -> Iterator[Any]:
    """``chalice.test.Client`` on the app, with the default model active."""
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
        yield client


@pytest.fixture
def alert_stream(stack: StackResources) -> StreamPoller:
    """The decisions stream fed to the app's alert publisher, as Lambda (or ``make run``)
    feeds it: ``alert_stream.poll_once()`` delivers the alerts of new decisions."""
    from app import publish_alerts

    streams = boto3.client("dynamodbstreams", region_name=REGION, config=STREAMS_CONFIG)
    return StreamPoller(streams, stack.decisions_stream_arn, publish_alerts)


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the service's powertools logger writes during the test (JSON lines)."""
    from chalicelib.observability import logger

    buffer = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", buffer)
    return buffer


def post_json(client: Any, path: str, payload: Any) -> Any:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return client.http.post(path, headers={"Content-Type": "application/json"}, body=body)


def scan(table: str) -> list[dict[str, Any]]:
    """Every item of a table (plain Python values)."""
    from chalicelib.state.dynamodb import item_from_dynamo

    client = boto3.client("dynamodb", region_name=os.environ.get("AWS_REGION", REGION))
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        items += [item_from_dynamo(raw) for raw in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
