"""Model files of plain values: joblib files that the functions read without joblib.

``dump`` writes a joblib file (``joblib.dump``, zlib at level 3) whose payload holds Python's
built-in values only. Each numpy array in it is stored as the tuple
``("ndarray", dtype, shape, bytes)``. ``load`` reads the file back with ``zlib`` and
``pickle``. Importing joblib would cost every cold start about a tenth of its time, mostly
in the modules joblib imports itself (asyncio, multiprocessing, pydoc).

``load``'s unpickler resolves no global name at all. A file whose pickle names any class or
function is refused, so reading a model file never runs code.

>>> payload = {"coef": np.array([0.5, -1.0]), "names": ["amount", "velocity"], "bias": 2.0}
>>> load(dump(payload))
{'coef': array([ 0.5, -1. ]), 'names': ['amount', 'velocity'], 'bias': 2.0}
"""

from __future__ import annotations

import io
import pickle
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from chalicelib.errors import FraudServiceError

ARRAY_TAG = "ndarray"
ARRAY_KINDS = "biuf"
"""Array dtype kinds a file may hold: booleans, signed and unsigned integers, floats."""
COMPRESSION = ("zlib", 3)


class ModelFileError(FraudServiceError):
    """A payload cannot be written as plain values, or a file is not one of them."""


def dump(payload: Mapping[str, Any]) -> bytes:
    """The bytes of a joblib file holding ``payload`` as plain values.

    ``payload`` may nest dicts with string keys, lists, strings, bytes, numbers, booleans,
    ``None`` and numpy arrays of ``ARRAY_KINDS``; numpy scalars become Python numbers.

    Raises
    ------
    ModelFileError
        The payload holds a tuple (tuples stand for arrays in the file), a non-string key,
        an array of another kind, or any other type.
    """
    import joblib  # the writers (training, tests) only: the functions never import it

    buffer = io.BytesIO()
    joblib.dump(_encoded(payload), buffer, compress=COMPRESSION)
    return buffer.getvalue()


def load(data: bytes) -> Any:
    """The payload of a file written by ``dump``, with its arrays rebuilt (read-only).

    Raises
    ------
    ModelFileError
        ``data`` is not a zlib stream, not a pickle of plain values (a pickle naming any
        class or function included), or holds a malformed array.
    """
    try:
        pickled = zlib.decompress(data)
    except zlib.error as exc:
        raise ModelFileError(f"the model file is not zlib-compressed: {exc}") from exc
    try:
        payload = _PlainUnpickler(io.BytesIO(pickled)).load()
    except ModelFileError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError) as exc:
        raise ModelFileError(f"the model file is not a pickle of plain values: {exc}") from exc
    return _decoded(payload)


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise ModelFileError(f"the model file names {module}.{name}: it must hold plain values")


_SCALARS = (str, bytes, int, float, bool, type(None))


def _encoded(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in ARRAY_KINDS:
            raise ModelFileError(f"cannot store an array of dtype {value.dtype}")
        return (ARRAY_TAG, value.dtype.str, list(value.shape), value.tobytes())
    if isinstance(value, np.generic):
        return _encoded(value.item())
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise ModelFileError("mapping keys must be strings")
        return {key: _encoded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_encoded(item) for item in value]
    if isinstance(value, _SCALARS):
        return value
    raise ModelFileError(f"cannot store a {type(value).__name__} as a plain value")


def _decoded(value: Any) -> Any:
    if isinstance(value, tuple):
        return _array(value)
    if isinstance(value, dict):
        return {key: _decoded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    return value


def _array(stored: tuple[Any, ...]) -> np.ndarray:
    if len(stored) != 4 or stored[0] != ARRAY_TAG:
        raise ModelFileError("a tuple in the model file must be an array")
    _, dtype, shape, data = stored
    try:
        kind = np.dtype(dtype)
        if kind.kind not in ARRAY_KINDS:
            raise ModelFileError(f"the model file holds an array of dtype {kind}")
        return np.frombuffer(data, dtype=kind).reshape(shape)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"the model file holds a malformed array: {exc}") from exc
