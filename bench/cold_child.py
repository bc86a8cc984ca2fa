"""One cold start, in the fresh interpreter ``bench.bench_cold`` starts.

``python -m bench.cold_child compiled|sklearn EVENT_FILE``: imports ``app.py``, builds
the runtime from the environment (a moto server), and answers the API Gateway event in
``EVENT_FILE`` (``POST /v1/score``) through the app's handler. ``compiled`` scores with the
active model fetched from S3 as deployed; ``sklearn`` fetches, in addition,
``BASELINE_KEY`` (the model's scikit-learn estimator) and loads it with joblib to decide.
Prints one JSON line: ``finished`` (``time.time()``), ``peak_rss_kib`` (``VmHWM``: this
interpreter's own high-water mark; ``ru_maxrss`` would include the parent's resident set
at fork) and the status.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

BASELINE_KEY = "bench/estimator.joblib"


def peak_rss_kib() -> int:
    """This process's peak resident set size in KiB (Linux ``/proc/self/status``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def main(mode: str, event_file: Path) -> None:
    from app import app
    from chalicelib import runtime

    if mode == "sklearn":
        from bench.sklearn_twin import load_estimator, sklearn_twin
        from fraudctl.offline.replay import StaticModel

        rt = runtime.current()
        s3 = rt.models.registry.s3
        data = s3.get_object(Bucket=rt.settings.bucket, Key=BASELINE_KEY)["Body"].read()
        rt.service.models = StaticModel(sklearn_twin(rt.models.current(), load_estimator(data)))
    response = app(json.loads(event_file.read_text()), None)
    finished = time.time()
    print(
        json.dumps(
            {
                "finished": finished,
                "status": response["statusCode"],
                "peak_rss_kib": peak_rss_kib(),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
