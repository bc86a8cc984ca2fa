"""Model files of plain values (``chalicelib.model.plain``) and the artifacts that hold them:
joblib files that load without joblib and without resolving any class or function; model
files of earlier formats still load, through joblib."""

from __future__ import annotations

import io
import os
import pickle
import zlib

import joblib
import numpy as np
import pytest

from chalicelib.model import plain
from chalicelib.model.artifact import (
    MODEL_FILE,
    ArtifactError,
    build_artifact,
    load_directory,
    write_directory,
)
from chalicelib.model.plain import ModelFileError
from tests.models import trained

ARRAYS = {
    "float64": np.array([0.5, -1.0, np.nan, np.inf]),
    "float32": np.array([1.25, 2.5], dtype=np.float32),
    "int32": np.array([3, -1, 7], dtype=np.int32),
    "bool": np.array([True, False]),
    "uint8 2-D": np.arange(6, dtype=np.uint8).reshape(2, 3),
    "big-endian": np.array([1.0, 2.0], dtype=">f8"),
    "empty": np.array([], dtype=np.int64),
}


@pytest.mark.parametrize("name", ARRAYS)
def test_arrays_round_trip_with_their_dtype_shape_and_values(name):
    array = ARRAYS[name]

    loaded = plain.load(plain.dump({"x": array}))["x"]

    assert loaded.dtype == array.dtype
    assert loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)
    assert not loaded.flags.writeable


def test_plain_values_round_trip_and_numpy_scalars_become_python_numbers():
    payload = {
        "names": ["amount", "velocity"],
        "nested": {"level": [1, {"deeper": None}], "flag": True},
        "raw": b"\x00\x01",
        "threshold": np.float32(0.25),
        "count": np.int64(3),
    }

    loaded = plain.load(plain.dump(payload))

    assert loaded == {**payload, "threshold": 0.25, "count": 3}
    assert type(loaded["threshold"]) is float
    assert type(loaded["count"]) is int


def test_the_file_is_a_joblib_file_whose_arrays_are_tagged_tuples():
    data = plain.dump({"coef": np.array([0.5, -1.0]), "intercept": 2.0})

    assert joblib.load(io.BytesIO(data)) == {
        "coef": ("ndarray", "<f8", [2], np.array([0.5, -1.0]).tobytes()),
        "intercept": 2.0,
    }


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"pair": (1, 2)}, "cannot store a tuple"),
        ({"objects": np.array([{}, None], dtype=object)}, "dtype object"),
        ({"complex": np.array([1j])}, "dtype complex128"),
        ({1: "one"}, "keys must be strings"),
        ({"set": {1, 2}}, "cannot store a set"),
    ],
)
def test_what_plain_values_cannot_hold_is_refused_when_written(payload, message):
    with pytest.raises(ModelFileError, match=message):
        plain.dump(payload)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch should-not-exist",))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"not a zlib stream", "not zlib-compressed"),
        (zlib.compress(pickle.dumps({"x": 1.0}))[:-8], "not zlib-compressed"),
        (zlib.compress(pickle.dumps({"x": np.array([1.0])})), "names numpy"),
        (zlib.compress(pickle.dumps({"x": _RunsCode()})), r"names \w+\.system"),
        (zlib.compress(pickle.dumps({"x": 1.0})[:-3]), "not a pickle of plain values"),
        (zlib.compress(pickle.dumps({"x": ("array", "<f8", [1], b"\0" * 8)})), "must be an array"),
        (zlib.compress(pickle.dumps({"x": ("ndarray", "|O", [1], b"\0" * 8)})), "dtype object"),
        (zlib.compress(pickle.dumps({"x": ("ndarray", "<f8", [2], b"\0" * 8)})), "malformed"),
        (zlib.compress(pickle.dumps({"x": ("ndarray", "<f8", [1], "text")})), "malformed"),
        (zlib.compress(pickle.dumps({"x": ("ndarray", "nonsense", [1], b"")})), "malformed"),
    ],
    ids=[
        "not zlib",
        "truncated stream",
        "numpy's own pickle",
        "code in a reduce",
        "truncated pickle",
        "foreign tuple",
        "object dtype",
        "shape and size disagree",
        "text for bytes",
        "unknown dtype",
    ],
)
def test_files_that_are_not_plain_values_are_refused_without_running_code(
    data, message, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(ModelFileError, match=message):
        plain.load(data)
    assert not (tmp_path / "should-not-exist").exists()


def test_a_model_file_naming_a_class_is_a_malformed_artifact(tmp_path):
    payload = plain.load((trained("logistic") / MODEL_FILE).read_bytes())  # arrays inside
    files = build_artifact(zlib.compress(pickle.dumps(payload)), {"version": "numpy-pickle"})
    write_directory(tmp_path, files)

    with pytest.raises(ArtifactError, match=r"malformed.*names numpy"):
        load_directory(tmp_path)


@pytest.mark.parametrize("kind", ["logistic", "forest", "anomaly"])
def test_an_artifact_of_an_earlier_format_still_loads_and_scores_the_same(kind, tmp_path):
    """Formats 1 and 2 pickled the arrays with joblib; versions published before keep
    serving, and can be rolled back to."""
    current = load_directory(trained(kind))
    payload = plain.load((trained(kind) / MODEL_FILE).read_bytes())
    buffer = io.BytesIO()
    joblib.dump(payload, buffer, compress=3)  # as format 1 and 2 wrote it
    earlier_format = 2 if kind == "anomaly" else 1
    write_directory(
        tmp_path, build_artifact(buffer.getvalue(), {"version": "earlier"}, None, earlier_format)
    )

    earlier = load_directory(tmp_path)

    rows = [{name: float(i) for name in current.feature_names} for i in range(5)]
    np.testing.assert_array_equal(earlier.score(rows).scores, current.score(rows).scores)
    assert earlier.thresholds == current.thresholds
    assert earlier.manifest["format"] == earlier_format
