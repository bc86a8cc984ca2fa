"""Finding a running stack: ``.local/stack.json`` unless told otherwise.

Commands that talk to a stack accept ``--endpoint-url`` / ``--url`` and otherwise read the
file ``make run`` writes (``FRAUD_LOCAL_DIR`` moves it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3

from fraudctl.errors import CommandError

ROOT = Path(__file__).resolve().parents[1]
# moto accepts any credentials; these keep a developer's real ones out of the local stack.
LOCAL_CREDENTIALS = {
    "aws_access_key_id": "local",
    "aws_secret_access_key": "local",
    "aws_session_token": "local",
}


def stack_file() -> Path:
    return Path(os.environ.get("FRAUD_LOCAL_DIR", ROOT / ".local")) / "stack.json"


def load_stack() -> dict[str, Any]:
    """The running local stack's description.

    Raises
    ------
    CommandError
        No stack is running (no ``stack.json``).
    """
    path = stack_file()
    if not path.is_file():
        raise CommandError(f"no running stack ({path} not found): start one with `make run`")
    return json.loads(path.read_text())


def stack_client(service: str, stack: dict[str, Any]) -> Any:
    """A boto3 client for the stack's local AWS (fake credentials)."""
    return boto3.client(
        service,
        region_name=stack["region"],
        endpoint_url=stack["endpoint_url"],
        **LOCAL_CREDENTIALS,
    )
