"""The model registry on S3 and the runtime's cached view of its active versions.

Layout under a stage's prefix (``models/<stage>``)::

    versions/<version>/manifest.json
    versions/<version>/model.joblib     (and any other file the manifest lists)
    active.json        {"version": ..., "activated_at": ..., "history": [older versions],
                        "challenger": version scored in shadow, or absent}

Changes to ``active.json`` (activate, rollback, challenger) read it and write it back
under a condition on what was read (S3 conditional writes: ``IfMatch`` its ETag, or
``IfNoneMatch`` when there was none): of two operators changing it at once, the second
gets ``PointerConflictError`` instead of silently undoing the first one's change.

Functions read ``active.json`` at most every ``refresh_seconds`` and load a new version
only after it verifies; a corrupt version is refused and the previous one keeps serving.
The challenger is loaded, verified and cached the same way; if it is refused the champion
serves alone.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import FraudServiceError, NotFoundError
from chalicelib.model.artifact import (
    MANIFEST,
    MODEL_FILE,
    ArtifactError,
    LoadedModel,
    load_artifact,
    parse_manifest,
    verify_files,
)
from chalicelib.s3objects import read_object, read_tagged_object

ACTIVE_POINTER = "active.json"
MAX_HISTORY = 20
# S3's answers to a conditional write whose condition no longer holds: the object changed
# (412), another conditional write to it is in flight (409), or it is gone.
CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey"})

logger = logging.getLogger(__name__)


class ModelUnavailableError(FraudServiceError):
    """No verified model can be served (none published, or every candidate refused)."""


class PointerConflictError(FraudServiceError):
    """The active pointer changed between reading and writing it; nothing was written."""


class ModelRegistry:
    """Versions and the active pointer of one stage, stored in S3.

    Parameters
    ----------
    s3:
        boto3 S3 client.
    bucket:
        Artifacts bucket.
    prefix:
        The stage's registry prefix, e.g. ``models/prod``.
    """

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix.rstrip("/")

    def _key(self, *parts: str) -> str:
        return "/".join((self.prefix, *parts))

    def _get(self, key: str) -> bytes:
        return read_object(self.s3, self.bucket, key, ArtifactError)

    def _put(self, key: str, data: bytes, content_type: str, **condition: str) -> None:
        self.s3.put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, **condition
        )

    # -- versions -------------------------------------------------------------------
    def publish(self, files: Mapping[str, bytes]) -> str:
        """Upload an artifact under its version; returns the version (not activated).

        Every file the manifest lists must be present with its SHA-256.

        Raises
        ------
        ArtifactError
            A malformed manifest, or a file missing or differing from its checksum.
        """
        manifest = parse_manifest(files[MANIFEST])
        verify_files(manifest, files)
        version = manifest["version"]
        for name in manifest["files"]:
            self._put(self._key("versions", version, name), files[name], "application/octet-stream")
        # The manifest goes last: a version is listed only once all its files exist.
        self._put(self._key("versions", version, MANIFEST), files[MANIFEST], "application/json")
        return version

    def manifest(self, version: str) -> dict[str, Any]:
        return parse_manifest(self._get(self._key("versions", version, MANIFEST)))

    def load(self, version: str) -> LoadedModel:
        """Fetch, verify and deserialise ``version``.

        ``model.joblib`` is read on a second thread while the manifest is: the two
        round trips overlap instead of following each other. The model is still verified
        against the manifest before it is deserialised.
        """
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-file") as reader:
            model_file = reader.submit(self._get, self._key("versions", version, MODEL_FILE))
            manifest_bytes = self._get(self._key("versions", version, MANIFEST))

            def read_file(name: str) -> bytes:
                try:
                    if name == MODEL_FILE:
                        return model_file.result()
                    return self._get(self._key("versions", version, name))
                except NotFoundError as exc:
                    raise ArtifactError(str(exc)) from exc

            return load_artifact(manifest_bytes, read_file)

    def versions(self) -> list[dict[str, Any]]:
        """Manifests of every published version, oldest first."""
        paginator = self.s3.get_paginator("list_objects_v2")
        manifests = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key("versions") + "/"):
            for entry in page.get("Contents", []):
                if entry["Key"].endswith("/" + MANIFEST):
                    manifests.append(parse_manifest(self._get(entry["Key"])))
        return sorted(manifests, key=lambda m: (m.get("created_at", ""), m["version"]))

    # -- activation -----------------------------------------------------------------
    def active(self) -> dict[str, Any] | None:
        """The active pointer, or ``None`` when nothing was activated yet."""
        return self._pointer()[0]

    def _pointer(self) -> tuple[dict[str, Any] | None, str | None]:
        """The active pointer and its ETag; ``(None, None)`` when there is none."""
        try:
            data, etag = read_tagged_object(
                self.s3, self.bucket, self._key(ACTIVE_POINTER), ArtifactError
            )
            pointer = json.loads(data)
        except NotFoundError:
            return None, None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ArtifactError(f"{ACTIVE_POINTER} is not valid JSON: {exc}") from exc
        if not isinstance(pointer, dict) or not isinstance(pointer.get("version"), str):
            raise ArtifactError(f"{ACTIVE_POINTER} names no version")
        return pointer, etag

    def _write_pointer(
        self,
        read: str | None,
        version: str,
        history: list[str],
        challenger: str | None,
        now: datetime | None,
    ) -> dict[str, Any]:
        """Replace the pointer whose ETag was ``read`` (``None``: there was none).

        Raises
        ------
        PointerConflictError
            It is no longer what was read.
        """
        pointer: dict[str, Any] = {
            "version": version,
            "activated_at": (now or datetime.now(UTC)).isoformat(),
            "history": history[:MAX_HISTORY],
        }
        if challenger and challenger != version:
            pointer["challenger"] = challenger
        condition = {"IfMatch": read} if read else {"IfNoneMatch": "*"}
        try:
            self._put(
                self._key(ACTIVE_POINTER),
                json.dumps(pointer).encode(),
                "application/json",
                **condition,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in CONFLICT_CODES:
                raise
            raise PointerConflictError(
                f"{ACTIVE_POINTER} changed while this change was made (another change to the "
                "registry?); nothing was written: look at the active version and try again"
            ) from exc
        return pointer

    def activate(self, version: str, now: datetime | None = None) -> dict[str, Any]:
        """Make ``version`` active after verifying it loads; returns the new pointer.

        A challenger stays in place unless it is the version activated (promoted).
        """
        self.load(version)
        current, read = self._pointer()
        history: list[str] = []
        if current and current["version"] != version:
            history = [current["version"], *current.get("history", [])]
        challenger = current.get("challenger") if current else None
        return self._write_pointer(read, version, history, challenger, now)

    def rollback(self, now: datetime | None = None) -> dict[str, Any]:
        """Re-activate the previously active version (after verifying it loads)."""
        current, read = self._pointer()
        if not current or not current.get("history"):
            raise NotFoundError("no previous version to roll back to")
        previous, *older = current["history"]
        self.load(previous)
        return self._write_pointer(read, previous, older, current.get("challenger"), now)

    def set_challenger(self, version: str | None, now: datetime | None = None) -> dict[str, Any]:
        """Score ``version`` in shadow beside the active one (``None`` removes the challenger).

        Raises
        ------
        NotFoundError
            No version is active.
        ArtifactError
            ``version`` does not verify, or is the active version itself.
        """
        current, read = self._pointer()
        if current is None:
            raise NotFoundError("no active version to challenge")
        if version is not None:
            if version == current["version"]:
                raise ArtifactError(f"{version} is the active version; it cannot challenge itself")
            self.load(version)
        history = current.get("history", [])
        return self._write_pointer(read, current["version"], history, version, now)


class ModelProvider:
    """The running function's view of the active model (and challenger), cached across
    invocations.

    Parameters
    ----------
    registry:
        Where versions live.
    refresh_seconds:
        How long the active pointer is trusted before it is read again.
    clock:
        Monotonic clock (injected by tests).
    available_features:
        Features this deployment computes; a version reading any other is refused.
        ``None`` accepts every version.
    """

    def __init__(
        self,
        registry: ModelRegistry,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        available_features: Collection[str] | None = None,
    ) -> None:
        self.registry = registry
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.available_features = (
            None if available_features is None else frozenset(available_features)
        )
        self._model: LoadedModel | None = None
        self._challenger: LoadedModel | None = None
        self._checked_at: float | None = None
        self._refused: set[str] = set()

    def current(self) -> LoadedModel:
        """The model to score with.

        Raises
        ------
        ModelUnavailableError
            No verified model has ever been loaded.
        """
        self._refresh_if_due()
        if self._model is None:
            raise ModelUnavailableError("no verified model is available")
        return self._model

    def challenger(self) -> LoadedModel | None:
        """The verified challenger named by the active pointer, or ``None``."""
        self._refresh_if_due()
        return self._challenger

    def _refresh_if_due(self) -> None:
        now = self.clock()
        if self._checked_at is None or now - self._checked_at >= self.refresh_seconds:
            self._checked_at = now
            self._refresh()

    def _refresh(self) -> None:
        try:
            pointer = self.registry.active()
        except ArtifactError as exc:
            logger.error("cannot read the active model pointer: %s", exc)
            return
        if pointer is None:
            logger.error("no model version is active")
            return
        self._model = self._resolve(pointer["version"], self._model, "model") or self._model
        challenger = pointer.get("challenger")
        self._challenger = (
            self._resolve(challenger, self._challenger, "challenger")
            if isinstance(challenger, str)
            else None
        )

    def _resolve(self, version: str, loaded: LoadedModel | None, role: str) -> LoadedModel | None:
        """``loaded`` if it is ``version``, else ``version`` loaded and verified, else
        ``None`` (refused versions are remembered and not fetched again)."""
        if loaded is not None and loaded.version == version:
            return loaded
        if version in self._refused:
            return None
        try:
            model = self.registry.load(version)
            self._check_features(model)
        except (ArtifactError, NotFoundError) as exc:
            self._refused.add(version)
            serving = self._model.version if self._model else None
            logger.error("refused %s version %s (%s); serving %s", role, version, exc, serving)
            return None
        logger.info("loaded %s version %s", role, version)
        return model

    def _check_features(self, model: LoadedModel) -> None:
        if self.available_features is None:
            return
        missing = sorted(set(model.feature_names) - self.available_features)
        if missing:
            raise ArtifactError(f"it reads features this deployment does not compute: {missing}")
