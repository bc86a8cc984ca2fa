"""AWS calls counted on boto3 clients (a botocore ``provide-client-params`` hook).

The budget tests and the benchmarks count what the functions ask of AWS this way: every
call made through a watched client is logged with its service, operation and parameters,
before it is sent (retries are not counted twice).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

EVENT = "provide-client-params"


class CallLog:
    """Every call made through the watched clients: ``(service, operation, params)``."""

    def __init__(self, *clients: Any) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        for client in clients:
            self.watch(client)

    def watch(self, client: Any) -> None:
        """Log the calls of ``client`` from now on (a client watched twice logs twice)."""
        service = client.meta.service_model.service_name
        client.meta.events.register(f"{EVENT}.{service}.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.service_model.service_name, model.name, params))

    def count(self) -> Counter[str]:
        """Calls by operation name (``BatchGetItem``...)."""
        return Counter(operation for _, operation, _ in self.calls)

    def by_service(self) -> Counter[str]:
        """Calls by service name (``dynamodb``, ``s3``...)."""
        return Counter(service for service, _, _ in self.calls)

    def clear(self) -> None:
        """Forget the calls logged so far."""
        self.calls.clear()
