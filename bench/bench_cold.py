"""Item 3: cold start, compiled model against a scikit-learn estimator loaded by joblib.

Run from the repository root: ``python -m bench.bench_cold [--runs N]``.

A moto server holds the stage (``bench.stage``) with the default model active. Each run
starts a fresh interpreter (``bench.cold_child``) that imports ``app.py``, builds the
runtime, fetches the model from S3 and answers its first ``POST /v1/score`` through the
app's handler; the time runs from the parent's ``Popen`` to the answer, the memory is
the child's peak resident set. The baseline run does the same and also fetches the
scikit-learn estimator of a model like the default (``bench.alike``) and loads it with
joblib to decide. Runs alternate; medians. Floors: 500 ms and 150 MB (10^6 bytes).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.alike import alike_model
from bench.cold_child import BASELINE_KEY
from bench.records import Figure, Floor, command_line, figure
from bench.service import ROOT, simulated_payloads
from bench.stage import moto_server, provisioned_stage, session
from fraudctl.training.fitting import ESTIMATOR_FILE

TIME_FLOOR_MS = Floor(500.0)
MEMORY_FLOOR_MB = Floor(150.0)
MODES = ("compiled", "sklearn")
EVENT = ROOT / "tests" / "events" / "apigw_score.json"


def api_event(payload: dict[str, Any]) -> dict[str, Any]:
    """API Gateway's ``POST /v1/score`` event carrying ``payload``."""
    event: dict[str, Any] = json.loads(EVENT.read_text())
    event["body"] = json.dumps(payload)
    return event


def cold_start(mode: str, event_file: Path) -> tuple[float, float]:
    """Seconds to the first answer and peak memory (MB) of one fresh interpreter."""
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "bench.cold_child", mode, str(event_file)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ.copy(),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold start ({mode}) failed:\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if report["status"] != 200:
        raise RuntimeError(f"cold start ({mode}) answered {report['status']}")
    return report["finished"] - started, report["peak_rss_kib"] * 1024 / 1e6


def measure(runs: int = 5) -> list[Figure]:
    """Item 3's figures: median over ``runs`` fresh interpreters per mode."""
    estimator = (alike_model() / ESTIMATOR_FILE).read_bytes()
    payloads = simulated_payloads(5, 2, seed=6)
    results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
    with contextlib.ExitStack() as stack:
        scratch = stack.enter_context(tempfile.TemporaryDirectory())
        url = stack.enter_context(moto_server())
        resources = stack.enter_context(provisioned_stage(url))
        s3 = session().client("s3", endpoint_url=url)
        s3.put_object(Bucket=resources.bucket, Key=BASELINE_KEY, Body=estimator)
        for run in range(runs):
            for mode in MODES:
                event_file = Path(scratch) / f"{mode}-{run}.json"
                payload = {**payloads[run % len(payloads)]}
                payload["transaction_id"] = f"cold-{mode}-{run}"
                event_file.write_text(json.dumps(api_event(payload)))
                results[mode].append(cold_start(mode, event_file))
    (seconds, memory), (base_seconds, base_memory) = (
        np.median(np.array(results[mode]), axis=0) for mode in MODES
    )
    return [
        figure(
            "cold_start_first_score_median", seconds * 1e3, "ms", base_seconds * 1e3, TIME_FLOOR_MS
        ),
        figure("cold_start_peak_memory_median", memory, "MB", base_memory, MEMORY_FLOOR_MB),
    ]


def main() -> None:
    command_line(__doc__, measure, runs=5)


if __name__ == "__main__":
    main()
