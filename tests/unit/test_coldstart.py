"""The cold start's single BLAS thread and its pause of the cyclic garbage collector
(chalicelib/coldstart.py)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

import pytest

from chalicelib import runtime
from chalicelib.coldstart import BLAS_THREADS, collector_paused
from tests.conftest import ROOT


@pytest.fixture
def collector_state():
    """Restore the collector as it was (tests freeze objects; unfreeze them after)."""
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_block_runs_without_the_collector_and_it_resumes_after(collector_state):
    gc.enable()

    with collector_paused():
        inside = gc.isenabled()

    assert inside is False
    assert gc.isenabled() is True


def test_objects_made_in_the_block_are_frozen_out_of_later_collections(collector_state):
    before = gc.get_freeze_count()

    with collector_paused():
        kept = [[i] for i in range(10_000)]

    assert gc.get_freeze_count() >= before + len(kept)


def test_a_collector_disabled_before_stays_disabled(collector_state):
    gc.disable()

    with collector_paused():
        pass

    assert gc.isenabled() is False


def test_the_collector_resumes_when_the_block_fails(collector_state):
    gc.enable()

    with pytest.raises(ImportError), collector_paused():
        import chalicelib.no_such_module  # noqa: F401

    assert gc.isenabled() is True


def test_importing_the_app_leaves_the_collector_on_and_its_modules_frozen():
    probe = "import gc, app; print(gc.isenabled(), gc.get_freeze_count())"

    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )

    enabled, frozen = done.stdout.split()
    assert enabled == "True"
    assert int(frozen) > 100_000


def test_forgetting_the_runtime_gives_frozen_objects_back_to_the_collector(collector_state):
    with collector_paused():
        kept = [[i] for i in range(1_000)]
    assert gc.get_freeze_count() >= len(kept)

    runtime.reset()

    assert gc.get_freeze_count() == 0


def blas_after_importing_the_app(**variables: str) -> dict:
    """OpenBLAS's thread count and the process's threads after ``import app`` in a fresh
    interpreter whose environment has ``variables`` and no other BLAS setting."""
    probe = (
        "import json, os, app; from threadpoolctl import threadpool_info; "
        "print(json.dumps({'blas': [p['num_threads'] for p in threadpool_info()], "
        "'threads': len(os.listdir('/proc/self/task'))}))"
    )
    env = {name: value for name, value in os.environ.items() if name != BLAS_THREADS}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**env, **variables},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_app_starts_no_blas_thread():
    outcome = blas_after_importing_the_app()

    assert outcome == {"blas": [1], "threads": 1}


def test_a_blas_thread_count_set_by_the_operator_is_kept():
    outcome = blas_after_importing_the_app(**{BLAS_THREADS: "2"})

    assert outcome["blas"] == [2]
