"""Model artifacts: a directory (or S3 prefix) with ``manifest.json`` and ``model.joblib``.

``model.joblib`` holds only numpy arrays and plain Python values: the compiled model's
state, the feature order and the decision thresholds. It is deserialised only after its
SHA-256 matches the manifest, so a tampered or truncated file is refused, never loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from chalicelib.errors import FraudServiceError
from chalicelib.model.compiled import CompiledModel, model_from_state

MANIFEST = "manifest.json"
MODEL_FILE = "model.joblib"
ARTIFACT_FORMAT = 1


class ArtifactError(FraudServiceError):
    """An artifact is missing, malformed or fails its integrity check."""


class ArtifactIntegrityError(ArtifactError):
    """A file's SHA-256 differs from the manifest (tampered or corrupt)."""


@dataclass(frozen=True)
class Thresholds:
    """Scores at or above ``review`` are reviewed, at or above ``block`` blocked."""

    review: float
    block: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.review <= self.block <= 1.0:
            raise ArtifactError(f"thresholds must satisfy 0 <= review <= block <= 1: {self}")

    def overridden(self, review: float | None, block: float | None) -> Thresholds:
        """These thresholds with per-stage overrides applied."""
        return Thresholds(
            self.review if review is None else review, self.block if block is None else block
        )


@dataclass(frozen=True)
class LoadedModel:
    """A verified, deserialised model ready to score."""

    version: str
    model: CompiledModel
    feature_names: tuple[str, ...]
    thresholds: Thresholds
    manifest: Mapping[str, Any] = field(repr=False)

    def vector(self, features: Mapping[str, float]) -> np.ndarray:
        """The model's input row for ``features`` (``KeyError`` for a missing feature)."""
        return np.fromiter((features[name] for name in self.feature_names), dtype=np.float64)

    def matrix(self, rows: list[Mapping[str, float]]) -> np.ndarray:
        """The model's input matrix for several transactions."""
        return np.array([[row[n] for n in self.feature_names] for row in rows], dtype=np.float64)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_artifact(
    model: CompiledModel, thresholds: Thresholds, manifest_fields: Mapping[str, Any]
) -> dict[str, bytes]:
    """Serialise ``model`` into artifact files (file name -> bytes), manifest included.

    ``manifest_fields`` must contain ``version``; it may add training window, data
    fingerprint, metrics and library versions.
    """
    if "version" not in manifest_fields:
        raise ArtifactError("manifest needs a version")
    payload = {
        "format": ARTIFACT_FORMAT,
        "model": model.to_state(),
        "feature_names": list(model.feature_names),
        "thresholds": {"review": thresholds.review, "block": thresholds.block},
    }
    buffer = io.BytesIO()
    joblib.dump(payload, buffer, compress=3)
    model_bytes = buffer.getvalue()
    manifest = {
        "format": ARTIFACT_FORMAT,
        **manifest_fields,
        "kind": model.kind,
        "feature_names": list(model.feature_names),
        "thresholds": payload["thresholds"],
        "files": {MODEL_FILE: {"sha256": sha256_hex(model_bytes), "bytes": len(model_bytes)}},
    }
    return {
        MODEL_FILE: model_bytes,
        MANIFEST: (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(),
    }


def parse_manifest(data: bytes) -> dict[str, Any]:
    """Decode and sanity-check a manifest."""
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"manifest is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError("manifest has an unknown format")
    if not isinstance(manifest.get("version"), str) or MODEL_FILE not in manifest.get("files", {}):
        raise ArtifactError("manifest lacks a version or the model file's checksum")
    return manifest


def load_artifact(manifest_bytes: bytes, read_file: Any) -> LoadedModel:
    """Verify and load an artifact.

    Parameters
    ----------
    manifest_bytes:
        Content of ``manifest.json``.
    read_file:
        Callable returning a file's bytes by name (raises ``ArtifactError`` if missing).

    Raises
    ------
    ArtifactIntegrityError
        A file's SHA-256 differs from the manifest; nothing was deserialised.
    ArtifactError
        The manifest or model is malformed.
    """
    manifest = parse_manifest(manifest_bytes)
    expected = manifest["files"][MODEL_FILE]["sha256"]
    model_bytes = read_file(MODEL_FILE)
    actual = sha256_hex(model_bytes)
    if actual != expected:
        raise ArtifactIntegrityError(
            f"{MODEL_FILE} of version {manifest['version']} has SHA-256 {actual[:12]}..., "
            f"manifest says {expected[:12]}...; refusing to load it"
        )
    try:
        payload = joblib.load(io.BytesIO(model_bytes))
        model = model_from_state(payload["model"])
        thresholds = Thresholds(**payload["thresholds"])
        feature_names = tuple(payload["feature_names"])
    except ArtifactError:
        raise
    except FraudServiceError as exc:
        raise ArtifactError(f"model of version {manifest['version']} is malformed: {exc}") from exc
    except (KeyError, TypeError, ValueError, EOFError) as exc:
        raise ArtifactError(f"model of version {manifest['version']} is malformed: {exc}") from exc
    return LoadedModel(manifest["version"], model, feature_names, thresholds, manifest)


def load_directory(directory: Path) -> LoadedModel:
    """Verify and load the artifact stored in ``directory``."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(f"{manifest_path} does not exist")

    def read_file(name: str) -> bytes:
        path = directory / name
        if not path.is_file():
            raise ArtifactError(f"{path} does not exist")
        return path.read_bytes()

    return load_artifact(manifest_path.read_bytes(), read_file)


def write_directory(directory: Path, files: Mapping[str, bytes]) -> None:
    """Write artifact files into ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
