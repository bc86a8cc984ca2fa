"""The load generator of ``bench.bench_load``: a second process sending at a fixed rate.

``python -m bench.load_client --url URL --rate R --seconds S --out FILE [--health]``
sends ``R * S`` requests, request ``i`` at ``i / R`` seconds (open loop; ``WORKERS``
threads bound the requests in flight): ``POST /v1/score`` with transaction ``i`` of
``load_payloads`` or, with ``--health``, ``GET /v1/health``. Writes to ``FILE`` a JSON
object: ``latencies`` (seconds, successful requests), ``errors`` (non-200 answers and
failed requests), ``elapsed`` (seconds from the first send to the last answer), and
``accepted``: per customer, the transactions answered 200.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

WORKERS = 8
TIMEOUT_SECONDS = 10.0
CUSTOMERS = 20
TERMINALS = 50
START = datetime(2025, 3, 14, tzinfo=UTC)


def load_payload(index: int, run: str) -> dict[str, Any]:
    """Transaction ``index`` of a load run: one second after the previous one, customers
    and terminals in turn (all within a day, so ``customer_nb_tx_1d`` counts them all)."""
    return {
        "transaction_id": f"load-{run}-{index}",
        "timestamp": (START + timedelta(seconds=index)).isoformat(),
        "amount": round(5 + (index * 37) % 200 + 0.25, 2),
        "customer_id": f"load-{run}-C{index % CUSTOMERS}",
        "terminal_id": f"load-{run}-T{index % TERMINALS}",
    }


def send(url: str, payload: dict[str, Any] | None) -> int:
    """One request; its HTTP status (0 when it failed without one)."""
    data = None if payload is None else json.dumps(payload).encode()
    method = "GET" if data is None else "POST"
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (loopback)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def run_load(url: str, rate: float, seconds: float, health: bool, run: str) -> dict[str, Any]:
    """Send the load; the results described in the module documentation."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    lock = threading.Lock()
    target = f"{url}/v1/health" if health else f"{url}/v1/score"

    def one(index: int) -> None:
        payload = None if health else load_payload(index, run)
        start = time.perf_counter()
        status = send(target, payload)
        latency = time.perf_counter() - start
        with lock:
            if status == 200:
                latencies.append(latency)
                if payload is not None:
                    accepted[payload["customer_id"]] += 1
            else:
                errors[str(status)] += 1

    total = int(rate * seconds)
    begun = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for index in range(total):
            delay = begun + index / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, index)
    return {
        "sent": total,
        "latencies": latencies,
        "errors": dict(errors),
        "elapsed": time.perf_counter() - begun,
        "accepted": dict(accepted),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--run", default="0", help="tags transaction and customer ids")
    parser.add_argument("--health", action="store_true", help="GET /v1/health instead")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    result = run_load(args.url, args.rate, args.seconds, args.health, args.run)
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
