"""``fraudctl replay`` through the API gives the numbers of ``fraudctl score``."""

from __future__ import annotations

import csv
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from fraudctl.cli import main
from fraudctl.data import read_transactions
from fraudctl.offline.http_target import ApiTarget
from fraudctl.offline.replay import refusals_path, replay, write_refusals, write_scores
from fraudctl.simulate import FraudRates, SimulationConfig, simulate, write_csv
from tests.conftest import DEFAULT_MODEL, post_json

START, END = "2025-01-08", "2025-01-11"


def chalice_transport(client: Any):
    def transport(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        response = post_json(client, path, json.dumps(body, default=float))
        return response.status_code, json.loads(response.body)

    return transport


def small_file(tmp_path: Path) -> Path:
    rates = FraudRates(compromised_terminal=5e-3, account_takeover=5e-3)
    frame = simulate(SimulationConfig(customers=6, days=10, seed=9, rates=rates))
    frame.loc[frame.index[20], "amount"] = 0.0  # history row the API refuses
    frame.loc[frame.index[-5], "amount"] = 0.0  # and one in the scored range
    path = tmp_path / "transactions.csv"
    write_csv(frame, path)
    return path


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_replay_through_the_api_equals_fraudctl_score_and_both_report_refused_rows(api, tmp_path):
    data = small_file(tmp_path)
    offline = tmp_path / "offline.csv"
    online = tmp_path / "online.csv"

    arguments = ["--model", str(DEFAULT_MODEL), "--data", str(data), "--out", str(offline)]
    code = main(["score", *arguments, "--from", START, "--to", END])
    result = replay(read_transactions(data), ApiTarget(chalice_transport(api)), START, END)
    write_scores(result.scored, online)
    write_refusals(result.refused, refusals_path(online))

    assert code == 0
    scored = rows(offline)
    assert len(scored) > 10 and {r["decision"] for r in scored} <= {"allow", "review", "block"}
    assert rows(online) == scored
    assert result.labels_sent > 10
    refused = rows(refusals_path(offline))
    assert [r["transaction_id"] for r in refused] == [r.transaction_id for r in result.refused]
    assert len(refused) == 2 and all("amount" in r["reason"] for r in refused)
    assert result.refused_in_range == 1


class _CapturingApi(http.server.BaseHTTPRequestHandler):
    """Answers ``/api/v1/score`` (allow) and ``/api/v1/feedback``; keeps every request."""

    requests: list[tuple[str, dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.requests.append((self.path, dict(self.headers.items()), body))
        payload = json.loads(body)
        answer = {"transaction_id": payload["transaction_id"], "score": 0.1, "decision": "allow"}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def capturing_api() -> Iterator[tuple[str, list[tuple[str, dict[str, str], bytes]]]]:
    """The base URL of a ``_CapturingApi`` on the loopback, and its requests."""
    requests: list[tuple[str, dict[str, str], bytes]] = []
    handler = type("Handler", (_CapturingApi,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api", requests
    server.shutdown()
    thread.join()


def signature_is_valid(url: str, headers: dict[str, str], body: bytes, region: str) -> bool:
    """Whether ``headers``' SigV4 signature of the POST is the one the credentials give,
    recomputed from what arrived, as API Gateway checks it."""
    authorization = headers["Authorization"]
    fields = dict(part.strip().split("=", 1) for part in authorization.split(" ", 1)[1].split(","))
    signed = fields["SignedHeaders"].split(";")
    kept = {name: value for name, value in headers.items() if name.lower() in signed}
    request = AWSRequest(method="POST", url=url, data=body, headers=kept)
    request.context["timestamp"] = headers["X-Amz-Date"]
    signer = SigV4Auth(Credentials("AKIDREPLAY", "replay-secret"), "execute-api", region)
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    return bool(fields["Signature"] == expected and "host" in signed)


def test_replay_signs_labels_for_a_deployed_api_and_scores_with_the_api_key(
    capturing_api, tmp_path, monkeypatch
):
    url, requests = capturing_api
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDREPLAY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "replay-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    out = tmp_path / "scores.csv"
    arguments = ["replay", "--data", str(small_file(tmp_path)), "--url", url, "--out", str(out)]

    signing = ["--sign", "--region", "eu-west-1"]
    code = main([*arguments, "--from", START, "--to", END, "--api-key", "key-1", *signing])
    signed_run = list(requests)
    code_unsigned = main([*arguments, "--api-key", "key-1"])  # the loopback: not signed
    unsigned_run = requests[len(signed_run) :]

    assert code == 0 and code_unsigned == 0
    for run, signs in ((signed_run, True), (unsigned_run, False)):
        scores = [headers for path, headers, _ in run if path == "/api/v1/score"]
        labels = [(path, h, body) for path, h, body in run if path == "/api/v1/feedback"]
        assert len(scores) > 10 and len(labels) > 10 and len(scores) + len(labels) == len(run)
        assert all(h["x-api-key"] == "key-1" and "Authorization" not in h for h in scores)
        assert all(("Authorization" in h) is signs for _, h, _ in labels)
    for path, headers, body in (label for label in signed_run if "Authorization" in label[1]):
        assert "x-api-key" not in headers  # the key is for scoring only
        assert "/eu-west-1/execute-api/aws4_request" in headers["Authorization"]
        assert signature_is_valid(url.removesuffix("/api") + path, headers, body, "eu-west-1")
