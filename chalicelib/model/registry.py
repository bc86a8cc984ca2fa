"""The model registry on S3 and the runtime's cached view of its active version.

Layout under a stage's prefix (``models/<stage>``)::

    versions/<version>/manifest.json
    versions/<version>/model.joblib
    active.json        {"version": ..., "activated_at": ..., "history": [older versions]}

Functions read ``active.json`` at most every ``refresh_seconds`` and load a new version
only after it verifies; a corrupt version is refused and the previous one keeps serving.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import FraudServiceError, NotFoundError
from chalicelib.model.artifact import (
    MANIFEST,
    ArtifactError,
    LoadedModel,
    load_artifact,
    parse_manifest,
)

ACTIVE_POINTER = "active.json"
MAX_HISTORY = 20

logger = logging.getLogger(__name__)


class ModelUnavailableError(FraudServiceError):
    """No verified model can be served (none published, or every candidate refused)."""


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
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFoundError(f"s3://{self.bucket}/{key} does not exist") from exc
            raise ArtifactError(f"cannot read s3://{self.bucket}/{key}: {exc}") from exc
        except BotoCoreError as exc:
            raise ArtifactError(f"cannot read s3://{self.bucket}/{key}: {exc}") from exc

    def _put(self, key: str, data: bytes, content_type: str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    # -- versions -------------------------------------------------------------------
    def publish(self, files: Mapping[str, bytes]) -> str:
        """Upload an artifact under its version; returns the version (not activated)."""
        manifest = parse_manifest(files[MANIFEST])
        version = manifest["version"]
        for name, data in files.items():
            if name != MANIFEST:
                self._put(self._key("versions", version, name), data, "application/octet-stream")
        # The manifest goes last: a version is listed only once all its files exist.
        self._put(self._key("versions", version, MANIFEST), files[MANIFEST], "application/json")
        return version

    def manifest(self, version: str) -> dict[str, Any]:
        return parse_manifest(self._get(self._key("versions", version, MANIFEST)))

    def load(self, version: str) -> LoadedModel:
        """Fetch, verify and deserialise ``version``."""
        manifest_bytes = self._get(self._key("versions", version, MANIFEST))

        def read_file(name: str) -> bytes:
            try:
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
        try:
            return json.loads(self._get(self._key(ACTIVE_POINTER)))
        except NotFoundError:
            return None

    def activate(self, version: str, now: datetime | None = None) -> dict[str, Any]:
        """Make ``version`` active after verifying it loads; returns the new pointer."""
        self.load(version)
        current = self.active()
        history = []
        if current and current["version"] != version:
            history = [current["version"], *current.get("history", [])][:MAX_HISTORY]
        pointer = {
            "version": version,
            "activated_at": (now or datetime.now(UTC)).isoformat(),
            "history": history,
        }
        self._put(self._key(ACTIVE_POINTER), json.dumps(pointer).encode(), "application/json")
        return pointer

    def rollback(self) -> dict[str, Any]:
        """Re-activate the previously active version."""
        current = self.active()
        if not current or not current.get("history"):
            raise NotFoundError("no previous version to roll back to")
        previous, *older = current["history"]
        self.load(previous)
        pointer = {
            "version": previous,
            "activated_at": datetime.now(UTC).isoformat(),
            "history": older,
        }
        self._put(self._key(ACTIVE_POINTER), json.dumps(pointer).encode(), "application/json")
        return pointer


class ModelProvider:
    """The running function's view of the active model, cached across invocations.

    Parameters
    ----------
    registry:
        Where versions live.
    refresh_seconds:
        How long the active pointer is trusted before it is read again.
    clock:
        Monotonic clock (injected by tests).
    """

    def __init__(
        self,
        registry: ModelRegistry,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._model: LoadedModel | None = None
        self._checked_at: float | None = None
        self._refused: set[str] = set()

    def current(self) -> LoadedModel:
        """The model to score with.

        Raises
        ------
        ModelUnavailableError
            No verified model has ever been loaded.
        """
        now = self.clock()
        if self._checked_at is None or now - self._checked_at >= self.refresh_seconds:
            self._checked_at = now
            self._refresh()
        if self._model is None:
            raise ModelUnavailableError("no verified model is available")
        return self._model

    def _refresh(self) -> None:
        try:
            pointer = self.registry.active()
        except ArtifactError as exc:
            logger.error("cannot read the active model pointer: %s", exc)
            return
        if pointer is None:
            logger.error("no model version is active")
            return
        version = pointer["version"]
        if (self._model and self._model.version == version) or version in self._refused:
            return
        try:
            model = self.registry.load(version)
        except (ArtifactError, NotFoundError) as exc:
            self._refused.add(version)
            serving = self._model.version if self._model else None
            logger.error("refused model version %s (%s); still serving %s", version, exc, serving)
            return
        logger.info("loaded model version %s", version)
        self._model = model
