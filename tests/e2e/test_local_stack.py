"""``make run`` as a user starts it: score over HTTP, through the real queue, then Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest

from tests.conftest import ROOT, transaction

pytestmark = pytest.mark.e2e
START_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(method: str, url: str, payload: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def running_stack(tmp_path: Path):
    env = {
        **os.environ,
        "FRAUD_LOCAL_MOTO_PORT": str(free_port()),
        "FRAUD_LOCAL_API_PORT": str(free_port()),
        "FRAUD_LOCAL_DIR": str(tmp_path),
    }
    process = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack_file = tmp_path / "stack.json"
    deadline = time.monotonic() + START_TIMEOUT
    while not stack_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"make run did not start:\n{process.stdout.read()}")
        time.sleep(0.5)
    stack = json.loads(stack_file.read_text())
    yield process, stack, stack_file
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)


def test_make_run_scores_over_http_and_queue_and_stops_cleanly(running_stack):
    process, stack, stack_file = running_stack
    for field in (
        "region",
        "endpoint_url",
        "api_url",
        "scoring_queue_url",
        "dead_letter_queue_url",
        "alerts_topic_arn",
        "bucket",
        "tables",
    ):
        assert field in stack

    status, health = http("GET", f"{stack['api_url']}/v1/health")
    assert status == 200 and health["model_version"]
    assert health["rules_version"] == stack["rules_version"] != "none"  # the default pack

    status, scored = http("POST", f"{stack['api_url']}/v1/score", transaction())
    assert status == 200 and scored["decision"] in {"allow", "review", "block"}

    sqs = boto3.client(
        "sqs",
        region_name=stack["region"],
        endpoint_url=stack["endpoint_url"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    queued = transaction(transaction_id="queued-1", timestamp="2025-03-14T13:00:00")
    sqs.send_message(QueueUrl=stack["scoring_queue_url"], MessageBody=json.dumps(queued))
    deadline = time.monotonic() + 30
    while True:
        status, stored = http("GET", f"{stack['api_url']}/v1/transactions/queued-1")
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status == 200 and stored["features"]["customer_nb_tx_1d"] == 2

    # An alert travels the deployed path: decisions stream -> publisher -> SNS -> the queue
    # `fraudctl alerts` reads.
    rule = {"rule_id": "e2e_watch", "expression": "amount > 4000", "action": "alert"}
    assert http("POST", f"{stack['api_url']}/v1/rules", rule)[0] == 201
    big = transaction(transaction_id="alerting-1", timestamp="2025-03-14T14:00:00", amount=4500.0)
    assert http("POST", f"{stack['api_url']}/v1/score", big)[0] == 200
    fraudctl = [str(ROOT / ".venv" / "bin" / "fraudctl")]
    env = {**os.environ, "FRAUD_LOCAL_DIR": str(stack_file.parent)}
    alerts: list[dict] = []
    deadline = time.monotonic() + 30
    while not any(a["transaction_id"] == "alerting-1" for a in alerts):
        assert time.monotonic() < deadline, alerts
        out = subprocess.run([*fraudctl, "alerts"], env=env, capture_output=True, text=True)
        alerts += [json.loads(line) for line in out.stdout.splitlines()]
    (alert,) = [a for a in alerts if a["transaction_id"] == "alerting-1"]
    assert alert["attributes"]["alert_type"] == "decision" and alert["amount"] == 4500.0

    # The day's report, computed by the running API, as report.json and report.html.
    out_dir = stack_file.parent / "report"
    done = subprocess.run(
        [*fraudctl, "report", "--date", "2025-03-14", "--out", str(out_dir)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((out_dir / "report.json").read_text())
    assert report["volume"]["transactions"] == 3 and report["alerts"]["raised"] >= 1
    assert (out_dir / "report.html").read_text().startswith("<!DOCTYPE html>")

    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=30)
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in stack["pids"].values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in stack["pids"].values())
    assert not stack_file.exists()
