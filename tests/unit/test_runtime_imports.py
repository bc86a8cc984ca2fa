"""What a cold start imports: never scikit-learn, scipy or boto3 (the clients are
botocore's), nor joblib (the model file is plain values) or asyncio; reports and alert
adapters only when their functions build them."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import DEFAULT_MODEL, ROOT

PROBE = f"""
import sys, json
import app
from chalicelib import aws
from chalicelib.model.artifact import load_directory
from pathlib import Path
model = load_directory(Path({str(DEFAULT_MODEL)!r}))
score = model.score([{{n: 1.0 for n in model.feature_names}}]).scores
clients = [aws.client(service, "eu-west-1", "http://localhost:1") for service in aws.SERVICES]
banned = sorted(
    m for m in sys.modules
    if m.split('.')[0] in ('sklearn', 'scipy', 'boto3', 's3transfer', 'joblib', 'asyncio')
)
print(json.dumps({{"score": float(score[0]), "banned": banned}}))
"""


def test_app_clients_and_default_model_load_without_sklearn_scipy_boto3_joblib_or_asyncio():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )

    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert 0.0 <= outcome["score"] <= 1.0
    assert outcome["banned"] == []


def test_scoring_cold_start_loads_neither_the_report_engine_nor_the_alert_adapters():
    """``import app`` is every function's cold start: what only the report and alert
    functions use is imported when their runtime is built, not before."""
    probe = (
        "import json, sys, app; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('chalicelib.'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))

    assert {"chalicelib.scoring", "chalicelib.runtime"} <= loaded
    later = {
        "chalicelib.reports.service",
        "chalicelib.reports.compute",
        "chalicelib.reports.store",
        "chalicelib.delivery.service",
        "chalicelib.delivery.retry",
        "chalicelib.delivery.stream",
        "chalicelib.delivery.sns",
        "chalicelib.delivery.sqs",
        "chalicelib.delivery.dynamodb",
    }
    assert loaded & later == set()
