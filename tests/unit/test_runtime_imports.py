"""The Lambda runtime never imports scikit-learn or scipy."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import DEFAULT_MODEL, ROOT

PROBE = f"""
import sys, json
import app
from chalicelib.model.artifact import load_directory
from pathlib import Path
model = load_directory(Path({str(DEFAULT_MODEL)!r}))
score = model.score([{{n: 1.0 for n in model.feature_names}}]).scores
banned = sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy'))
print(json.dumps({{"score": float(score[0]), "banned": banned}}))
"""


def test_app_and_default_model_load_without_sklearn_or_scipy():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )

    import json

    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert 0.0 <= outcome["score"] <= 1.0
    assert outcome["banned"] == []
