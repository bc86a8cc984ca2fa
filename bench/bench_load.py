"""Item 6: the local stack (``make run``) under load on loopback.

Run from the repository root: ``python -m bench.bench_load [--rate R] [--seconds S]``.

Starts ``python -m fraudctl.local.stack`` on free ports with its state in a temporary
directory (a stack of the lead's on 5000/8000 is left alone), then a second process,
``bench.load_client``, sends ``POST /v1/score`` at a bounded rate for 60 seconds.
Baseline, measured just before with the same client and rate: ``GET /v1/health``, which
crosses the same HTTP server and app without scoring. Figures: throughput (answered
requests per second), p50, p99 and errors (floor: 0). Then one probe transaction per
customer, dated after the load, reads its ``customer_nb_tx_1d``: the velocity totals the
stack kept must equal the transactions it accepted (floor: 0 customers differ).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench.load_client import CUSTOMERS, TIMEOUT_SECONDS, load_payload, send
from bench.records import Figure, Floor, command_line, figure, median_p99
from bench.service import ROOT
from bench.stage import START_TIMEOUT, free_port

NONE_ALLOWED = Floor(0.0)
BASELINE_SECONDS = 10.0
STOP_TIMEOUT = 20.0


@contextlib.contextmanager
def local_stack(state_dir: Path) -> Iterator[dict[str, Any]]:
    """``fraudctl.local.stack`` on free ports; its ``stack.json``. Stopped with SIGTERM."""
    env = {
        **os.environ,
        "FRAUD_LOCAL_MOTO_PORT": str(free_port()),
        "FRAUD_LOCAL_API_PORT": str(free_port()),
        "FRAUD_LOCAL_DIR": str(state_dir),
    }
    log = (state_dir / "bench-stack.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "fraudctl.local.stack"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack_file = state_dir / "stack.json"
    try:
        deadline = time.monotonic() + 2 * START_TIMEOUT
        while not stack_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = Path(log.name).read_text()[-3000:]
                raise RuntimeError(f"the local stack did not start:\n{tail}")
            time.sleep(0.5)
        yield json.loads(stack_file.read_text())
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def client_run(url: str, rate: float, seconds: float, out: Path, *flags: str) -> dict[str, Any]:
    """``bench.load_client`` in a second process; its results."""
    command = [sys.executable, "-m", "bench.load_client", "--url", url, "--rate", str(rate)]
    command += ["--seconds", str(seconds), "--out", str(out), *flags]
    subprocess.run(command, cwd=ROOT, check=True)
    return json.loads(out.read_text())


def velocity_mismatches(url: str, accepted: dict[str, int], run: str, after: int) -> int:
    """Customers whose probe's ``customer_nb_tx_1d`` is not their accepted count + 1."""
    mismatches = 0
    for number in range(CUSTOMERS):
        probe = load_payload(after + number, run)
        probe["transaction_id"] = f"probe-{run}-{number}"
        probe["customer_id"] = customer = f"load-{run}-C{number}"
        if send(f"{url}/v1/score", probe) != 200:
            raise RuntimeError(f"probe {probe['transaction_id']} was not scored")
        request = f"{url}/v1/transactions/{probe['transaction_id']}"
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            counted = json.loads(answer.read())["features"]["customer_nb_tx_1d"] - 1
        mismatches += int(counted != accepted.get(customer, 0))
    return mismatches


def measure(rate: float = 15.0, seconds: float = 60.0) -> list[Figure]:
    """Item 6's figures."""
    # Letters only: digits joined across separators could look like a card number (400).
    run = "".join(random.choices(string.ascii_lowercase, k=6))
    with tempfile.TemporaryDirectory() as scratch, local_stack(Path(scratch)) as stack:
        url = stack["api_url"]
        baseline = client_run(
            url, rate, min(BASELINE_SECONDS, seconds), Path(scratch) / "health.json", "--health"
        )
        load = client_run(url, rate, seconds, Path(scratch) / "load.json", "--run", run)
        mismatches = velocity_mismatches(url, load["accepted"], run, load["sent"])
    p50, p99 = median_p99(np.array(load["latencies"]) * 1e3)
    base_p50, base_p99 = median_p99(np.array(baseline["latencies"]) * 1e3)
    errors = sum(load["errors"].values())
    if errors:
        print(f"load errors by HTTP status (0: no answer): {load['errors']}", file=sys.stderr)
    return [
        figure(
            "load_throughput",
            len(load["latencies"]) / load["elapsed"],
            "req/s",
            len(baseline["latencies"]) / baseline["elapsed"],
            better="higher",
        ),
        figure("load_score_p50", p50, "ms", base_p50),
        figure("load_score_p99", p99, "ms", base_p99),
        figure("load_errors", errors, "requests", sum(baseline["errors"].values()), NONE_ALLOWED),
        figure(
            "load_velocity_mismatched_customers",
            mismatches,
            "customers",
            None,
            NONE_ALLOWED,
        ),
        figure(
            "load_velocity_total",
            sum(load["accepted"].values()),
            "tx",
            load["sent"] - errors,
            Floor(1.0, on="ratio", better="higher"),
        ),
    ]


def main() -> None:
    command_line(__doc__, measure, rate=15.0, seconds=60.0)


if __name__ == "__main__":
    main()
