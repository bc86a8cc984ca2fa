"""Model artifacts: a directory (or S3 prefix) with ``manifest.json`` and ``model.joblib``.

``model.joblib`` holds the compiled classifier and/or anomaly model, the feature order, each
feature's usual values (for explanations) and the decision thresholds. It is deserialised
only after its SHA-256 matches the manifest, so a tampered or truncated file is refused,
never loaded. Other files listed in the manifest (the fitted scikit-learn estimator, for
offline use) are never read at run time.

The manifest's ``format`` says how to read ``model.joblib``:

- 3, what ``serialise_model`` writes: a joblib file of plain values
  (``chalicelib.model.plain``), read without importing joblib and without resolving any
  class or function;
- 1 and 2, written by earlier releases: numpy arrays pickled by joblib, still read, by
  joblib. Format 1 is a classifier, with or without an isolation forest beside it; format
  2 marked what a format-1-only runtime would misread (an isolation forest alone, or a
  classifier reading ``anomaly_score``).

A runtime refuses a format it does not know and keeps serving its model.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chalicelib.errors import FraudServiceError
from chalicelib.model import plain
from chalicelib.model.compiled import (
    CompiledAnomalyModel,
    CompiledModel,
    anomaly_model_from_state,
    model_from_state,
)
from chalicelib.model.scorer import ModelScorer, Scored

MANIFEST = "manifest.json"
MODEL_FILE = "model.joblib"
ARTIFACT_FORMAT = 3
"""What ``serialise_model`` writes: ``model.joblib`` of plain values."""
JOBLIB_FORMATS = (1, 2)
"""Earlier artifacts, whose ``model.joblib`` only joblib reads."""
FORMATS = (*JOBLIB_FORMATS, ARTIFACT_FORMAT)
VERSION_PATTERN = re.compile(r"(?!\.+$)[A-Za-z0-9._-]{1,128}")


class ArtifactError(FraudServiceError):
    """An artifact is missing, malformed or fails its integrity check."""


class ArtifactIntegrityError(ArtifactError):
    """A file's SHA-256 differs from the manifest (tampered or corrupt)."""


@dataclass(frozen=True)
class Thresholds:
    """Scores at or above ``review`` are reviewed, at or above ``block`` blocked.

    With ``review_cost`` (cost-based review, in the transaction's currency) a transaction
    is also reviewed when its expected loss, ``score x amount``, reaches that cost.
    """

    review: float
    block: float
    review_cost: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.review <= self.block <= 1.0:
            raise ArtifactError(f"thresholds must satisfy 0 <= review <= block <= 1: {self}")
        if self.review_cost is not None and not self.review_cost > 0:
            raise ArtifactError(f"review_cost must be positive: {self}")

    def overridden(
        self, review: float | None, block: float | None, review_cost: float | None = None
    ) -> Thresholds:
        """These thresholds with per-stage overrides applied."""
        return Thresholds(
            self.review if review is None else review,
            self.block if block is None else block,
            self.review_cost if review_cost is None else review_cost,
        )

    def to_dict(self) -> dict[str, float]:
        values = {"review": self.review, "block": self.block}
        if self.review_cost is not None:
            values["review_cost"] = self.review_cost
        return values


@dataclass(frozen=True)
class LoadedModel:
    """A verified, deserialised model ready to score.

    Attributes
    ----------
    feature_usual:
        Per feature, its median over the training rows (what explanations call usual).
    """

    version: str
    scorer: ModelScorer
    thresholds: Thresholds
    manifest: Mapping[str, Any] = field(repr=False)
    feature_usual: Mapping[str, float] = field(default_factory=dict, repr=False)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The features the model reads, in the order of ``matrix`` columns."""
        return self.scorer.source_features

    def matrix(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """The model's input matrix for several transactions (``KeyError`` for a missing
        feature)."""
        return np.array([[row[n] for n in self.feature_names] for row in rows], dtype=np.float64)

    def score(self, rows: Sequence[Mapping[str, float]]) -> Scored:
        """Decision scores (and anomaly scores) of several transactions' features (a
        payment alone takes ``ModelScorer.score_one``)."""
        if len(rows) == 1:
            (row,) = rows
            return self.scorer.score_one([row[n] for n in self.feature_names])
        return self.scorer.score(self.matrix(rows))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def serialise_model(
    classifier: CompiledModel | None,
    anomaly: CompiledAnomalyModel | None,
    thresholds: Thresholds,
    feature_usual: Mapping[str, float] | None = None,
) -> bytes:
    """The bytes of ``model.joblib``, in ``ARTIFACT_FORMAT``."""
    scorer = ModelScorer(classifier, anomaly)
    payload = {
        "format": ARTIFACT_FORMAT,
        "model": classifier.to_state() if classifier is not None else None,
        "anomaly": anomaly.to_state() if anomaly is not None else None,
        "feature_names": list(scorer.source_features),
        "thresholds": thresholds.to_dict(),
        "feature_usual": {name: float(value) for name, value in (feature_usual or {}).items()},
    }
    return plain.dump(payload)


def build_artifact(
    model_bytes: bytes,
    manifest_fields: Mapping[str, Any],
    extra_files: Mapping[str, bytes] | None = None,
    artifact_format: int = ARTIFACT_FORMAT,
) -> dict[str, bytes]:
    """Artifact files (file name -> bytes), manifest included.

    ``model_bytes`` come from ``serialise_model`` (or, with ``artifact_format`` 1 or 2,
    from an earlier release); ``manifest_fields`` must contain ``version`` and may add
    training window, data fingerprint, metrics, library versions, thresholds and how they
    were chosen. Every file gets its SHA-256 in the manifest.
    """
    if "version" not in manifest_fields:
        raise ArtifactError("manifest needs a version")
    files = {MODEL_FILE: model_bytes, **(extra_files or {})}
    manifest = {
        "format": artifact_format,
        **manifest_fields,
        "files": {
            name: {"sha256": sha256_hex(data), "bytes": len(data)}
            for name, data in sorted(files.items())
        },
    }
    files[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return files


def verify_files(manifest: Mapping[str, Any], files: Mapping[str, bytes]) -> None:
    """Check every file of ``manifest`` is in ``files`` with its SHA-256.

    Raises
    ------
    ArtifactIntegrityError
        A file differs from its checksum.
    ArtifactError
        A file is missing.
    """
    for name, expected in manifest["files"].items():
        if name not in files:
            raise ArtifactError(f"{name} of version {manifest['version']} is missing")
        _check_sha256(manifest["version"], name, files[name], expected["sha256"])


def _check_sha256(version: str, name: str, data: bytes, expected: str) -> None:
    actual = sha256_hex(data)
    if actual != expected:
        raise ArtifactIntegrityError(
            f"{name} of version {version} has SHA-256 {actual[:12]}..., "
            f"manifest says {expected[:12]}...; refusing to load it"
        )


def parse_manifest(data: bytes) -> dict[str, Any]:
    """Decode and sanity-check a manifest."""
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"manifest is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") not in FORMATS:
        raise ArtifactError("manifest has an unknown format")
    if not isinstance(manifest.get("version"), str) or MODEL_FILE not in manifest.get("files", {}):
        raise ArtifactError("manifest lacks a version or the model file's checksum")
    if not VERSION_PATTERN.fullmatch(manifest["version"]):
        raise ArtifactError(f"version {manifest['version']!r} is not 1-128 of A-Z a-z 0-9 . _ -")
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
    version = manifest["version"]
    model_bytes = read_file(MODEL_FILE)
    _check_sha256(version, MODEL_FILE, model_bytes, manifest["files"][MODEL_FILE]["sha256"])
    try:
        payload = _payload(manifest["format"], model_bytes)
        classifier = model_from_state(payload["model"]) if payload["model"] else None
        anomaly_state = payload.get("anomaly")
        anomaly = anomaly_model_from_state(anomaly_state) if anomaly_state else None
        scorer = ModelScorer(classifier, anomaly)
        thresholds = Thresholds(**payload["thresholds"])
        feature_usual = {str(k): float(v) for k, v in payload.get("feature_usual", {}).items()}
        if list(payload["feature_names"]) != list(scorer.source_features):
            raise ArtifactError(f"feature_names of version {version} disagree with its models")
    except ArtifactError:
        raise
    except (FraudServiceError, KeyError, TypeError, ValueError, EOFError) as exc:
        raise ArtifactError(f"model of version {version} is malformed: {exc}") from exc
    return LoadedModel(version, scorer, thresholds, manifest, feature_usual)


def _payload(artifact_format: int, model_bytes: bytes) -> Any:
    if artifact_format == ARTIFACT_FORMAT:
        return plain.load(model_bytes)
    import joblib  # artifacts of formats 1 and 2 only: the others load without it

    return joblib.load(io.BytesIO(model_bytes))


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


def read_directory(directory: Path) -> dict[str, bytes]:
    """Every file of the artifact in ``directory`` (manifest included), checksums verified.

    Raises
    ------
    ArtifactError
        No manifest, a malformed one, or a listed file missing or corrupt.
    """
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(f"{manifest_path} does not exist")
    manifest_bytes = manifest_path.read_bytes()
    manifest = parse_manifest(manifest_bytes)
    files = {
        name: (directory / name).read_bytes()
        for name in manifest["files"]
        if (directory / name).is_file()
    }
    verify_files(manifest, files)
    return {**files, MANIFEST: manifest_bytes}


def write_directory(directory: Path, files: Mapping[str, bytes]) -> None:
    """Write artifact files into ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
