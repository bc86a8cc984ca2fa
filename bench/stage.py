"""A stage of the service on a local AWS (moto), as the AWS-facing benchmarks set it up.

``provisioned_stage`` provisions the stage's resources from ``infra/`` (in process under
``mock_aws`` when ``endpoint_url`` is ``None``, or on a moto server), publishes and
activates the default model, and points this process's environment at them, as a
deployed function's environment would (``Settings.from_environ``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

import boto3

from bench.service import DEFAULT_MODEL
from chalicelib import runtime
from chalicelib.model.artifact import MANIFEST, MODEL_FILE
from chalicelib.model.registry import ModelRegistry
from chalicelib.settings import ENV_ENDPOINT_URL, ENV_ID_HASH_KEY
from fraudctl.local.provision import StackResources, provision
from fraudctl.stackinfo import LOCAL_CREDENTIALS

REGION = "eu-west-1"
STAGE = "bench"
HOST = "127.0.0.1"
START_TIMEOUT = 60.0
CREDENTIALS = {name.upper(): value for name, value in LOCAL_CREDENTIALS.items()}


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set, restored afterwards (the runtime forgotten)."""
    saved = dict(os.environ)
    os.environ.update(values)
    runtime.reset()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        runtime.reset()


def stage_environment(resources: StackResources, endpoint_url: str | None) -> dict[str, str]:
    """The functions' environment for ``resources`` (fake credentials, no metrics)."""
    env = {
        **CREDENTIALS,
        **resources.environment(endpoint_url),
        ENV_ID_HASH_KEY: "bench-identifier-key",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    if endpoint_url is None:
        env.pop(ENV_ENDPOINT_URL, None)
    return env


def session() -> Any:
    """A boto3 session with the fake credentials, in the bench's region."""
    return boto3.session.Session(region_name=REGION, **LOCAL_CREDENTIALS)


@contextlib.contextmanager
def provisioned_stage(endpoint_url: str | None = None) -> Iterator[StackResources]:
    """The stage provisioned, the default model active, the environment pointing at it."""
    with environment({**CREDENTIALS, "AWS_DEFAULT_REGION": REGION}):
        resources = provision(session(), STAGE, endpoint_url)
        registry = ModelRegistry(
            session().client("s3", endpoint_url=endpoint_url),
            resources.bucket,
            f"models/{STAGE}",
        )
        files = {name: (DEFAULT_MODEL / name).read_bytes() for name in (MANIFEST, MODEL_FILE)}
        registry.activate(registry.publish(files))
        with environment(stage_environment(resources, endpoint_url)):
            yield resources


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[Any], timeout: float = START_TIMEOUT) -> None:
    """Wait until ``url`` answers (any HTTP status); ``RuntimeError`` if ``process`` dies
    or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()  # noqa: S310 (loopback)
            return
        except urllib.error.HTTPError:
            return
        except OSError as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up: {exc}") from exc
            time.sleep(0.2)


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto server (``fraudctl.local.motoserver``) on a free loopback port; its URL."""
    port = free_port()
    command = [sys.executable, "-m", "fraudctl.local.motoserver", "-H", HOST, "-p", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://{HOST}:{port}"
    try:
        wait_http(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
