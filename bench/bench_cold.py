"""Item 3: cold start of the deployment bundle, compiled model against a scikit-learn
estimator loaded by joblib.

Run from the repository root: ``python -m bench.bench_cold [--runs N]``.

The dev stage's bundle is built as ``make package`` builds it and unzipped; the runtime's
boto3 and its dependencies are copied beside it. A moto server holds the stage
(``bench.stage``) with the default model active and the identifier hashing key in SSM.
Each run starts a fresh interpreter (``bench/cold_child.py``) that sees only the bundle and
the runtime's boto3, in the Lambda environment (``bundle.lambda_environment``: active
tracing), imports ``app.py`` and answers its first ``POST /v1/score`` through the app's
handler, reading the hashing key from SSM as a deployed stage does and fetching the model
from S3; the time runs from the parent's ``Popen`` to the answer, the memory is the
child's peak resident set. The baseline run does the same with scikit-learn importable (this
environment's installation) and also fetches the scikit-learn estimator of a model like
the default (``bench.alike``) and loads it with joblib to decide. Runs alternate;
medians. Floors: 500 ms and 150 MB (10^6 bytes).

Each timed run follows an untimed one of the same mode (a warm-up, as hyperfine's), so
the files it reads are in the page cache: this host pages out file pages touched less
than twice in 5 s for 30 s (DAMON page-out; a run of each mode every few seconds is that
rare), and a page fault then waits on a disk whose latency varies tenfold from one
minute to the next. The figure is the interpreter's work, not the host's disk; a Lambda
worker that has started the function before also has its code cached.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.alike import alike_model
from bench.bench_bundle import STAGE as BUNDLE_STAGE
from bench.cold_child import BASELINE_KEY
from bench.records import Figure, Floor, command_line, figure
from bench.service import ROOT, simulated_payloads
from bench.stage import environment, moto_server, provisioned_stage, session
from chalicelib.settings import ENV_ID_HASH_KEY, ENV_ID_HASH_KEY_PARAMETER
from fraudctl.deploy import bundle
from fraudctl.deploy.package import package
from fraudctl.training.fitting import ESTIMATOR_FILE

TIME_FLOOR_MS = Floor(500.0)
MEMORY_FLOOR_MB = Floor(150.0)
MODES = ("compiled", "sklearn")
EVENT = ROOT / "tests" / "events" / "apigw_score.json"
CHILD = ROOT / "bench" / "cold_child.py"
FUNCTION_NAME = "fraud-detection-dev"
KEY_PARAMETER = "/fraud/bench/id-hash-key"
"""The SSM SecureString a deployed stage reads its identifier hashing key from."""


@dataclass(frozen=True)
class LambdaView:
    """What a function's interpreter may import: the unzipped bundle (``/var/task``), the
    runtime's boto3 (``/var/runtime``), and, for the baseline only, this environment's
    installation (scikit-learn) and the repository (``bench.sklearn_twin``)."""

    task: Path
    runtime: Path

    def paths(self, mode: str) -> list[str]:
        paths = [str(self.task), str(self.runtime)]
        if mode == "sklearn":
            paths += [sysconfig.get_path("purelib"), str(ROOT)]
        return paths

    def environment(self) -> dict[str, str]:
        return bundle.lambda_environment(self.task, self.runtime, FUNCTION_NAME)


def lambda_view(directory: Path) -> LambdaView:
    """The dev stage's bundle, packaged and unzipped in ``directory``, and the runtime."""
    with environment({}):
        built = package(BUNDLE_STAGE, directory / "dist").out / "deployment.zip"
    task = directory / "task"
    with zipfile.ZipFile(built) as archive:
        archive.extractall(task)
    runtime = bundle.distribution_copy(directory / "runtime", bundle.LAMBDA_RUNTIME_PROVIDED)
    return LambdaView(task, runtime)


def api_event(payload: dict[str, Any]) -> dict[str, Any]:
    """API Gateway's ``POST /v1/score`` event carrying ``payload``."""
    event: dict[str, Any] = json.loads(EVENT.read_text())
    event["body"] = json.dumps(payload)
    return event


def write_event(directory: Path, payload: dict[str, Any], transaction_id: str) -> Path:
    """A file in ``directory`` holding the API event of ``payload`` as ``transaction_id``."""
    path = directory / f"{transaction_id}.json"
    path.write_text(json.dumps(api_event({**payload, "transaction_id": transaction_id})))
    return path


def cold_start(view: LambdaView, mode: str, event_file: Path) -> tuple[float, float]:
    """Seconds to the first answer and peak memory (MB) of one fresh interpreter.

    Raises
    ------
    RuntimeError
        The child failed, did not answer 200, or imported the functions' code (or numpy)
        from elsewhere than the bundle, or botocore from elsewhere than the runtime, or
        joblib at all in ``compiled`` mode (the model's file loads without it).
    """
    env = {**os.environ, **view.environment(), ENV_ID_HASH_KEY_PARAMETER: KEY_PARAMETER}
    env.pop("POWERTOOLS_METRICS_DISABLED", None)  # metrics are on, as deployed
    env.pop(ENV_ID_HASH_KEY, None)  # the key comes from SSM, as deployed
    command = [sys.executable, "-I", "-S", "-B", str(CHILD), mode, str(event_file)]
    started = time.time()
    done = subprocess.run(
        [*command, *view.paths(mode)],
        capture_output=True,
        text=True,
        cwd=view.task,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold start ({mode}) failed:\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if report["status"] != 200:
        raise RuntimeError(f"cold start ({mode}) answered {report['status']}")
    origins = report["origins"]
    expected = {name: view.task for name in ("app", "chalicelib", "numpy")}
    expected["botocore"] = view.runtime
    if mode == "sklearn":
        expected["joblib"] = view.task  # it loads the baseline's estimator
    elif "joblib" in origins:
        raise RuntimeError("the compiled model's cold start imported joblib")
    strays = [name for name, home in expected.items() if not origins[name].startswith(str(home))]
    if strays:
        raise RuntimeError(f"cold start ({mode}) imported {strays} from elsewhere: {origins}")
    return report["finished"] - started, report["peak_rss_kib"] * 1024 / 1e6


def measure(runs: int = 5) -> list[Figure]:
    """Item 3's figures: median over ``runs`` fresh interpreters per mode."""
    estimator = (alike_model() / ESTIMATOR_FILE).read_bytes()
    payloads = simulated_payloads(5, 2, seed=6)
    results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
    with contextlib.ExitStack() as stack:
        scratch = stack.enter_context(tempfile.TemporaryDirectory())
        view = lambda_view(Path(scratch))
        url = stack.enter_context(moto_server())
        resources = stack.enter_context(provisioned_stage(url))
        s3 = session().client("s3", endpoint_url=url)
        s3.put_object(Bucket=resources.bucket, Key=BASELINE_KEY, Body=estimator)
        session().client("ssm", endpoint_url=url).put_parameter(
            Name=KEY_PARAMETER, Value=os.urandom(32).hex(), Type="SecureString"
        )
        for run in range(runs):
            for mode in MODES:
                payload = payloads[run % len(payloads)]
                # Untimed: puts the files of this mode in the page cache.
                cold_start(view, mode, write_event(Path(scratch), payload, f"warm-{mode}-{run}"))
                timed = write_event(Path(scratch), payload, f"cold-{mode}-{run}")
                results[mode].append(cold_start(view, mode, timed))
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
