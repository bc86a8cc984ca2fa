"""A running API as a replay target: ``POST /v1/score`` and ``POST /v1/feedback``.

The transport is a callable ``(path, body) -> (status, JSON answer)``: ``HttpTransport``
keeps one HTTP/1.1 connection to the API; tests pass ``chalice.test.Client`` instead.
A deployed API takes scores with an API key and labels only signed with SigV4 (its
analyst routes are IAM-authorised, ``chalicelib.auth``): ``ApiTarget`` sends each through
its own transport.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from fraudctl.api import Signer
from fraudctl.errors import CommandError
from fraudctl.offline.replay import Outcome, Refused, Scored

Transport = Callable[[str, dict[str, Any]], tuple[int, Any]]
TIMEOUT_SECONDS = 30.0
MAX_RECONNECTS = 2
REFUSED = 400


class HttpTransport:
    """POSTs JSON to ``base_url`` over one kept-alive connection (reconnects if dropped).

    ``api_key`` goes in ``x-api-key`` (what API Gateway checks on ``/v1/score``);
    ``signer`` signs every request with SigV4 (what it checks on ``/v1/feedback``).
    """

    def __init__(
        self, base_url: str, api_key: str | None = None, signer: Signer | None = None
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CommandError(f"--url must be an http(s) URL, not {base_url!r}")
        self.parts = parts
        self.prefix = parts.path.rstrip("/")
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["x-api-key"] = api_key
        self.signer = signer
        self.connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        host, port = self.parts.hostname or "", self.parts.port
        if self.parts.scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=TIMEOUT_SECONDS)
        return http.client.HTTPConnection(host, port, timeout=TIMEOUT_SECONDS)

    def _headers(self, target: str, data: bytes) -> dict[str, str]:
        if self.signer is None:
            return self.headers
        url = f"{self.parts.scheme}://{self.parts.netloc}{target}"
        return self.signer.headers("POST", url, dict(self.headers), data)

    def __call__(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        data = json.dumps(body, default=float).encode()
        target = self.prefix + path
        for attempt in range(MAX_RECONNECTS + 1):
            self.connection = self.connection or self._connect()
            try:
                # Signed for each attempt: a signature carries its time.
                self.connection.request("POST", target, data, self._headers(target, data))
                response = self.connection.getresponse()
                raw = response.read()
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                self.connection.close()
                self.connection = None
                if attempt == MAX_RECONNECTS:
                    raise CommandError(f"the API at {self.parts.geturl()} failed: {exc}") from exc
                continue
            try:
                return response.status, json.loads(raw or b"null")
            except json.JSONDecodeError as exc:
                raise CommandError(f"{path} answered {response.status} without JSON") from exc
        raise CommandError(f"the API at {self.parts.geturl()} cannot be reached")


class ApiTarget:
    """A running API (``fraudctl replay``): one call per transaction through
    ``transport``, one per label through ``labels`` (default: ``transport``)."""

    batch_size = 1

    def __init__(self, transport: Transport, labels: Transport | None = None) -> None:
        self.transport = transport
        self.labels = labels or transport

    def score(self, payloads: Sequence[dict[str, Any]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for payload in payloads:
            status, body = self.transport("/v1/score", payload)
            transaction_id = str(payload.get("transaction_id"))
            if status == REFUSED:
                reason = body.get("message", "refused") if isinstance(body, dict) else "refused"
                outcomes.append(Refused(transaction_id, reason))
            elif status == 200:
                outcomes.append(
                    Scored(body["transaction_id"], float(body["score"]), body["decision"])
                )
            else:
                raise CommandError(f"POST /v1/score of {transaction_id} answered {status}: {body}")
        return outcomes

    def feedback(self, transaction_id: str, is_fraud: bool) -> None:
        body = {"transaction_id": transaction_id, "is_fraud": is_fraud}
        status, answer = self.labels("/v1/feedback", body)
        if status != 200:
            raise CommandError(f"POST /v1/feedback of {transaction_id} answered {status}: {answer}")
