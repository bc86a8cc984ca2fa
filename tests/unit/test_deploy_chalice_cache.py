"""Packagers of one checkout take turns on Chalice's dependency cache and never reuse a
zip that does not open (a concurrent run's half-written one, an interrupted run's)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fraudctl.deploy import chalice_cache
from tests.conftest import ROOT

# A second packager: takes the cache of the project named on its command line, then says so.
SECOND_PACKAGER = """
import sys
from pathlib import Path
from fraudctl.deploy import chalice_cache
with chalice_cache.held(Path(sys.argv[1])) as discarded:
    print("held", discarded)
"""


def _whole_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("numpy/__init__.py", "")


def test_a_half_written_zip_is_removed_and_whole_ones_are_kept(tmp_path):
    cache = chalice_cache.directory(tmp_path)
    cache.mkdir(parents=True)
    _whole_zip(cache / "aaaa-python3.12.zip")
    whole = (cache / "aaaa-python3.12.zip").read_bytes()
    (cache / "bbbb-python3.12-arm64.zip").write_bytes(whole[: len(whole) // 2])

    with chalice_cache.held(tmp_path) as discarded:
        assert discarded == ["bbbb-python3.12-arm64.zip"]
        assert sorted(p.name for p in cache.glob("*.zip")) == ["aaaa-python3.12.zip"]
    assert (cache / "aaaa-python3.12.zip").read_bytes() == whole


def test_the_cache_directory_is_created_on_a_fresh_checkout(tmp_path):
    with chalice_cache.held(tmp_path) as discarded:
        assert discarded == []
        assert chalice_cache.directory(tmp_path).is_dir()


def test_a_second_packager_waits_until_the_first_lets_go(tmp_path):
    command = [sys.executable, "-c", SECOND_PACKAGER, str(tmp_path)]
    with chalice_cache.held(tmp_path):
        second = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            second.wait(timeout=1.0)
    out, _ = second.communicate(timeout=30)
    assert second.returncode == 0
    assert out == "held []\n"


def test_the_cache_is_free_again_when_its_holder_fails(tmp_path):
    with pytest.raises(RuntimeError), chalice_cache.held(tmp_path):
        raise RuntimeError("chalice package failed")
    command = [sys.executable, "-c", SECOND_PACKAGER, str(tmp_path)]
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert finished.stdout == "held []\n", finished.stderr
