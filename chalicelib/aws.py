"""The one place AWS clients are made.

Clients are created lazily, cached per (service, region, endpoint), made from one botocore
session (which loads botocore's endpoint and model files once: a cold start creates
several clients) and share a configuration with bounded timeouts and retries, so every
external call is bounded. ``AWS_ENDPOINT_URL`` (via ``Settings.endpoint_url``) points all
of them at a moto server.

They are botocore's clients, which is what ``boto3.client`` returns too. The functions
never import boto3 itself: its resources and transfer manager are of no use to them, and
importing it costs every cold start 4 % more instructions (``bench/RESULTS.md``).

The clients know only the operations of ``OPERATIONS``: their service models are the
trimmed ones of ``aws_models/`` (``fraudctl.deploy.aws_models`` writes them), a few
dozen kilobytes where botocore's own weigh megabytes, and so is the ``endpoints.json``
there (the services of ``OPERATIONS`` only), so that creating clients at a cold start
parses little.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.loaders import Loader

# What the functions (and the local queue worker standing in for Lambda's SQS poller)
# call; everything else is outside their IAM policies anyway.
OPERATIONS: Mapping[str, tuple[str, ...]] = {
    "dynamodb": (
        "BatchGetItem",
        "BatchWriteItem",
        "DescribeTable",
        "GetItem",
        "Query",
        "TransactWriteItems",
        "UpdateItem",
    ),
    "s3": ("GetObject", "ListObjectsV2", "PutObject"),
    "sns": ("Publish",),
    "sqs": (
        "ChangeMessageVisibilityBatch",
        "DeleteMessageBatch",
        "GetQueueAttributes",
        "ReceiveMessage",
        "SendMessage",
    ),
    "ssm": ("GetParameter",),
}
SERVICES = tuple(OPERATIONS)
MODELS = Path(__file__).with_name("aws_models")

# Bounded external calls: a payment frontend waits for the decision.
CONNECT_TIMEOUT_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 3.0
MAX_ATTEMPTS = 3

_CLIENT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
    tcp_keepalive=True,
)
_CREATING = threading.Lock()  # sessions are not thread-safe (chalice local threads)


class ServicesLoader(Loader):
    """botocore's data loader, with ``SERVICES`` as the services it has data for.

    botocore checks each client's service name against that list, and its own loader
    builds the list by listing all of its ~440 service directories, twice in a cold start
    (service models, then endpoint rule sets): about 35 ms. Files are still found by
    botocore's own search, in ``MODELS`` first; a service outside ``SERVICES`` is
    unknown.
    """

    def list_available_services(self, type_name: str) -> list[str]:
        return sorted(SERVICES)

    def is_builtin_path(self, path: str) -> bool:
        """Files of ``MODELS`` count as botocore's own: they are its data, trimmed. (botocore
        resolves endpoints differently from an ``endpoints.json`` that is not its own.)"""
        return Path(path).is_relative_to(MODELS) or super().is_builtin_path(path)


def _data_paths(core: botocore.session.Session) -> list[str]:
    """``MODELS``, then ``AWS_DATA_PATH``'s directories as botocore reads them."""
    paths = core.get_config_variable("data_path")
    extra = [] if paths is None else paths.split(os.pathsep)
    return [str(MODELS), *(os.path.expanduser(os.path.expandvars(path)) for path in extra)]


@functools.cache
def _session() -> botocore.session.Session:
    session = botocore.session.get_session()
    session.register_component(
        "data_loader", ServicesLoader(extra_search_paths=_data_paths(session))
    )
    return session


@functools.cache
def client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    """Return the cached client for ``service``.

    Parameters
    ----------
    service:
        Service name (``dynamodb``, ``s3``, ``sns``, ``sqs``, ``ssm``).
    region:
        AWS region.
    endpoint_url:
        Endpoint override (moto), ``None`` for the real AWS endpoint.
    """
    with _CREATING:
        return _session().create_client(
            service, region_name=region, endpoint_url=endpoint_url, config=_CLIENT_CONFIG
        )


def reset_clients() -> None:
    """Forget every cached client (tests switch between moto back ends)."""
    client.cache_clear()
    _session.cache_clear()
