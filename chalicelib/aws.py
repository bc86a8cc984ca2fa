"""The one place boto3 clients are made.

Clients are created lazily, cached per (service, region, endpoint), made from one boto3
session (which loads botocore's endpoint and model files once: a cold start creates
several clients) and share a botocore configuration with bounded timeouts and retries,
so every external call is bounded.
``AWS_ENDPOINT_URL`` (via ``Settings.endpoint_url``) points all of them at a moto server.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import boto3
from botocore.config import Config

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
_CREATING = threading.Lock()  # boto3 sessions are not thread-safe (chalice local threads)


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@functools.cache
def client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    """Return the cached boto3 client for ``service``.

    Parameters
    ----------
    service:
        boto3 service name (``dynamodb``, ``s3``, ``sns``, ``sqs``, ``ssm``).
    region:
        AWS region.
    endpoint_url:
        Endpoint override (moto), ``None`` for the real AWS endpoint.
    """
    with _CREATING:
        return _session().client(
            service, region_name=region, endpoint_url=endpoint_url, config=_CLIENT_CONFIG
        )


def reset_clients() -> None:
    """Forget every cached client (tests switch between moto back ends)."""
    client.cache_clear()
    _session.cache_clear()
