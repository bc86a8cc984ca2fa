"""One cold start of the deployment bundle, in the fresh interpreter ``bench.bench_cold``
starts.

``python -I -S -B bench/cold_child.py compiled|sklearn EVENT_FILE TASK RUNTIME [MORE...]``
sees what the python3.12 Lambda runtime gives a function: the standard library, the
unzipped bundle (TASK, ``/var/task``) and the runtime's boto3 (RUNTIME, ``/var/runtime``),
in that order; no site-packages, and no bytecode written (``/var/task`` is read-only: what
the bundle does not carry is compiled again at every cold start). The parent sets the
Lambda environment. The child imports ``app`` and answers the API Gateway event in
EVENT_FILE (``POST /v1/score``) through ``app.app`` with a Lambda context, as the
runtime's first invocation.

``compiled`` scores with the active model fetched from S3 as deployed. ``sklearn`` is the
baseline: MORE must hold scikit-learn and its dependencies, and then the repository (for
``bench.sklearn_twin``); it fetches, in addition, ``BASELINE_KEY`` (the model's
scikit-learn estimator) and loads it with joblib to decide.

Prints, as its last line, one JSON object: ``finished`` (``time.time()``),
``peak_rss_kib`` (``VmHWM``: this interpreter's own high-water mark; ``ru_maxrss`` would
include the parent's resident set at fork), ``status`` and ``origins`` (the file each
of ``ORIGINS`` was imported from).
"""

import json
import sys
import time
from pathlib import Path

BASELINE_KEY = "bench/estimator.joblib"
ORIGINS = ("app", "chalicelib", "numpy", "joblib", "aws_xray_sdk", "botocore", "sklearn")


class LambdaContext:
    """The attributes of the runtime's context object that the handlers read."""

    function_name = "fraud-detection-dev"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:fraud-detection-dev"
    memory_limit_in_mb = 1024
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name = "/aws/lambda/fraud-detection-dev"
    log_stream_name = "2026/11/22/[$LATEST]cold"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def peak_rss_kib() -> int:
    """This process's peak resident set size in KiB (Linux ``/proc/self/status``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def main(mode: str, event_file: str, paths: list[str]) -> None:
    sys.path[:0] = paths
    from app import app
    from chalicelib import runtime

    if mode == "sklearn":
        from bench.sklearn_twin import load_estimator, sklearn_twin
        from chalicelib.scoring import FixedModel

        rt = runtime.current()
        s3 = rt.models.registry.s3
        data = s3.get_object(Bucket=rt.settings.bucket, Key=BASELINE_KEY)["Body"].read()
        rt.service.models = FixedModel(sklearn_twin(rt.models.current(), load_estimator(data)))
    response = app(json.loads(Path(event_file).read_text()), LambdaContext())
    finished = time.time()
    origins = {name: sys.modules[name].__file__ for name in ORIGINS if name in sys.modules}
    print(
        json.dumps(
            {
                "finished": finished,
                "status": response["statusCode"],
                "peak_rss_kib": peak_rss_kib(),
                "origins": origins,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
