"""The trimmed botocore data the functions' clients load (``make aws-models``).

Run from the repository root: ``make aws-models`` (``python -m fraudctl.deploy.aws_models``).

botocore's service models describe every operation of a service, with its documentation:
S3's is 1.4 MB of JSON, SSM's 0.9 MB, DynamoDB's 0.6 MB. A client parses its whole
model when it is created, and a cold start creates three clients. The models written
here keep, from the installed botocore's models, only the operations
``chalicelib.aws.OPERATIONS`` lists and the shapes they reach, without documentation.

``endpoints.json``, which the first client of a process parses (1.2 MB: every service in
every region), keeps every partition and region but only the functions' services.
botocore resolves those services' endpoints from it as from its own copy (a test
compares the two).

``chalicelib.aws`` puts their directory (``chalicelib/aws_models``) first in botocore's
search path. Endpoint rule sets, paginators and the other files still come from botocore.

Changing ``OPERATIONS`` or upgrading botocore means running this again; a test
(tests/unit/test_aws_clients.py) compares the committed models with what it writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from botocore.loaders import Loader

from chalicelib import aws

MODEL_TYPE = "service-2"
ENDPOINTS = "endpoints"


def _undocumented(node: Mapping[str, Any]) -> dict[str, Any]:
    """An operation or a shape without its ``documentation`` (its members' too)."""
    kept = {key: value for key, value in node.items() if key != "documentation"}
    if "members" in kept:
        kept["members"] = {name: _undocumented(m) for name, m in kept["members"].items()}
    return kept


def _reached(shapes: Mapping[str, Any], roots: Iterable[str]) -> set[str]:
    """The names of ``roots`` and of every shape they refer to."""
    reached: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        shape = shapes[name]
        pending += [shape[part]["shape"] for part in ("member", "key", "value") if part in shape]
        pending += [member["shape"] for member in shape.get("members", {}).values()]
    return reached


def trimmed_model(full: Mapping[str, Any], operations: Iterable[str]) -> dict[str, Any]:
    """``full`` (a ``service-2`` model) with only ``operations`` and the shapes they use.

    Raises
    ------
    KeyError
        An operation is not in the model.
    """
    kept = {name: full["operations"][name] for name in operations}
    roots = [
        reference["shape"]
        for operation in kept.values()
        for reference in (
            operation.get("input"),
            operation.get("output"),
            *operation.get("errors", []),
        )
        if reference is not None
    ]
    shapes = full["shapes"]
    reached = _reached(shapes, roots)
    return {
        "version": full["version"],
        "metadata": full["metadata"],
        "operations": {name: _undocumented(operation) for name, operation in kept.items()},
        "shapes": {name: _undocumented(shape) for name, shape in shapes.items() if name in reached},
    }


def trimmed_endpoints(full: Mapping[str, Any], prefixes: Iterable[str]) -> dict[str, Any]:
    """``full`` (botocore's ``endpoints.json``) with, in each partition, only the services
    whose endpoint prefix is in ``prefixes``; partitions and their regions are kept."""
    kept = set(prefixes)
    partitions = [
        {
            **partition,
            "services": {
                name: service for name, service in partition["services"].items() if name in kept
            },
        }
        for partition in full["partitions"]
    ]
    return {**full, "partitions": partitions}


def _write(path: Path, data: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path


def write_models(
    directory: Path = aws.MODELS, operations: Mapping[str, Iterable[str]] = aws.OPERATIONS
) -> list[Path]:
    """Write, under ``directory``, the trimmed model of each service of ``operations``
    from the installed botocore's (its latest API version), and the endpoints of those
    services; returns the files written."""
    loader = Loader()  # botocore's own data only
    written = []
    prefixes = []
    for service, names in operations.items():
        api_version = loader.determine_latest_version(service, MODEL_TYPE)
        full = loader.load_data(f"{service}/{api_version}/{MODEL_TYPE}")  # without extras
        prefixes.append(full["metadata"]["endpointPrefix"])
        path = directory / service / api_version / f"{MODEL_TYPE}.json"
        written.append(_write(path, trimmed_model(full, names)))
    endpoints = trimmed_endpoints(loader.load_data(ENDPOINTS), prefixes)
    written.append(_write(directory / f"{ENDPOINTS}.json", endpoints))
    return written


def main() -> None:
    for path in write_models():
        print(f"{path}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
