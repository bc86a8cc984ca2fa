"""``fraudctl replay`` against ``make run`` writes the scores ``fraudctl score`` computes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fraudctl.simulate import SimulationConfig, simulate, write_csv
from tests.conftest import DEFAULT_MODEL, ROOT
from tests.e2e.test_local_stack import running_stack  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e


def fraudctl(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "fraudctl.cli", *arguments]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_replay_to_the_local_stack_equals_fraudctl_score(running_stack, tmp_path: Path):  # noqa: F811
    process, _, stack_file = running_stack
    data, offline, online = tmp_path / "tx.csv", tmp_path / "offline.csv", tmp_path / "online.csv"
    frame = simulate(SimulationConfig(customers=3, days=9, seed=4))
    frame.loc[frame.index[5], "amount"] = 0.0  # the API refuses it; both report it
    write_csv(frame, data)
    env = {**os.environ, "FRAUD_LOCAL_DIR": str(stack_file.parent)}
    window = ["--from", "2025-01-08", "--to", "2025-01-10"]

    model = ["--model", str(DEFAULT_MODEL)]
    scored = fraudctl("score", *model, "--data", str(data), *window, "--out", str(offline), env=env)
    replayed = fraudctl("replay", "--data", str(data), *window, "--out", str(online), env=env)

    assert scored.returncode == 0 and replayed.returncode == 0, scored.stderr + replayed.stderr
    assert online.read_text() == offline.read_text()
    assert len(offline.read_text().splitlines()) > 5
    refused = [tmp_path / f"{name}.refused.csv" for name in ("offline", "online")]
    assert refused[0].read_text() == refused[1].read_text()
    assert "amount" in refused[0].read_text()
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=30)
