"""The bundle built for this machine's architecture (dev's x86_64 here), unzipped alone,
imports and scores against moto as on Lambda.

A clean Python 3.12 (``-I -S``: no site-packages, no environment) sees only the unzipped
``deployment.zip`` and copies of what the python3.12 runtime provides (boto3 and its
dependencies). The functions read their resources from a moto server provisioned from
infra/resources.yaml, the model from the registry and the hashing key from an SSM
SecureString, as deployed. A bundle of the other architecture (prod's arm64) cannot run
here; its wheel tags and ELF headers are checked in test_bundle.py.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.model.registry import ModelRegistry
from chalicelib.settings import ENV_ID_HASH_KEY_PARAMETER
from fraudctl.deploy.bundle import LAMBDA_RUNTIME_PROVIDED
from fraudctl.local.provision import provision
from tests.conftest import REGION, artifact_files, load_event, sqs_event, transaction

STAGE = "bundle"
PROBE = Path(__file__).with_name("bundle_probe.py")
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
NATIVE_ARCHITECTURE = {"x86_64": "x86_64", "aarch64": "arm64"}[platform.machine()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port; its endpoint URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.2)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def lambda_runtime_copy(directory: Path) -> Path:
    """Copies of the distributions the Lambda runtime provides (boto3 and its dependencies)."""
    for name in LAMBDA_RUNTIME_PROVIDED:
        dist = importlib.metadata.distribution(name)
        for file in dist.files or []:
            if "__pycache__" in file.parts or file.parts[0] == "..":
                continue
            target = directory / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dist.locate_file(file), target)
    return directory


def api_event(payload: dict[str, Any]) -> dict[str, Any]:
    event = load_event("apigw_score.json")
    event["body"] = json.dumps(payload)
    return event


def test_unzipped_bundle_scores_through_api_and_queue_handlers(packages, moto_server, tmp_path):
    (packaged,) = [p for p in packages.values() if p.architecture == NATIVE_ARCHITECTURE]
    task = tmp_path / "task"
    with zipfile.ZipFile(packaged.bundle) as archive:
        archive.extractall(task)
    runtime = lambda_runtime_copy(tmp_path / "runtime")
    session = boto3.session.Session(
        region_name=REGION, **{k.lower(): v for k, v in FAKE_CREDENTIALS.items()}
    )
    resources = provision(session, STAGE, moto_server)
    registry = ModelRegistry(
        session.client("s3", endpoint_url=moto_server), resources.bucket, f"models/{STAGE}"
    )
    version = registry.publish(artifact_files())
    registry.activate(version)
    parameter = f"/fraud/{STAGE}/id-hash-key"
    session.client("ssm", endpoint_url=moto_server).put_parameter(
        Name=parameter, Value="bundle-test-key", Type="SecureString"
    )
    queued = sqs_event([json.dumps(transaction(transaction_id="q-1")), "{not json"])
    events = tmp_path / "events.json"
    events.write_text(
        json.dumps({"api": api_event(transaction(transaction_id="api-1")), "sqs": queued})
    )
    env = {
        **FAKE_CREDENTIALS,
        **resources.environment(moto_server),
        ENV_ID_HASH_KEY_PARAMETER: parameter,
    }

    result = subprocess.run(
        [sys.executable, "-I", "-S", str(PROBE), str(task), str(runtime), str(events)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.splitlines()[-1].removeprefix("REPORT "))
    assert report["python"] == [3, 12]
    assert report["api"]["statusCode"] == 200, report["api"]
    decision = json.loads(report["api"]["body"])
    assert decision["transaction_id"] == "api-1"
    assert decision["decision"] in ("allow", "review", "block")
    assert decision["model_version"] == version
    assert report["queue"] == {
        "batchItemFailures": [{"itemIdentifier": queued["Records"][1]["messageId"]}]
    }
    items = session.client("dynamodb", endpoint_url=moto_server).scan(
        TableName=resources.decisions_table
    )["Items"]
    assert {item["transaction_id"]["S"] for item in items} == {"api-1", "q-1"}
    for name in ("app", "chalicelib", "numpy", "joblib", "aws_xray_sdk", "wrapt"):
        assert report["origins"][name].startswith(str(task) + "/"), name
    for name in ("boto3", "botocore"):
        assert report["origins"][name].startswith(str(runtime) + "/"), name
    assert not [p for p in report["sys_path"] if "site-packages" in p]
    assert report["training_importable"] == []
