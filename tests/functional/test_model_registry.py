"""The S3 model registry: integrity checks, activation, caching in running functions."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import pytest

from chalicelib.model.artifact import MANIFEST, MODEL_FILE, ArtifactError, ArtifactIntegrityError
from chalicelib.model.registry import (
    ACTIVE_POINTER,
    ModelProvider,
    ModelRegistry,
    ModelUnavailableError,
    PointerConflictError,
)
from tests.conftest import REGION, artifact_files


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def with_version(files: dict[str, bytes], version: str) -> dict[str, bytes]:
    manifest = json.loads(files[MANIFEST])
    manifest["version"] = version
    return {**files, MANIFEST: json.dumps(manifest).encode()}


def tampered(files: dict[str, bytes]) -> dict[str, bytes]:
    model = bytearray(files[MODEL_FILE])
    model[len(model) // 2] ^= 0xFF
    return {**files, MODEL_FILE: bytes(model)}


def upload_raw(registry: ModelRegistry, files: dict[str, bytes]) -> str:
    """Put a version's files in S3 as they are (publish() would refuse a corrupt one), as
    bit rot or a careless operator copying files by hand would."""
    version = json.loads(files[MANIFEST])["version"]
    for name, data in files.items():
        registry.s3.put_object(
            Bucket=registry.bucket, Key=f"{registry.prefix}/versions/{version}/{name}", Body=data
        )
    return version


def test_publish_refuses_a_corrupt_artifact_and_uploads_nothing(registry):
    with pytest.raises(ArtifactIntegrityError):
        registry.publish(tampered(with_version(artifact_files(), "evil")))

    assert registry.versions() == []


def test_tampered_model_is_refused_before_it_is_deserialised(registry, monkeypatch):
    version = upload_raw(registry, tampered(with_version(artifact_files(), "evil")))
    loads = []
    for loader in ("chalicelib.model.plain.load", "joblib.load"):  # this format's, earlier ones'
        monkeypatch.setattr(loader, lambda *a, **k: loads.append(a) or {})

    with pytest.raises(ArtifactIntegrityError, match="SHA-256"):
        registry.load(version)
    assert loads == []


def test_tampered_version_cannot_be_activated(registry, published_model):
    version = upload_raw(registry, tampered(with_version(artifact_files(), "evil")))

    with pytest.raises(ArtifactIntegrityError):
        registry.activate(version)
    assert registry.active()["version"] == published_model


class ManifestHeldUntilModelRequested:
    """An S3 client that holds the read of a manifest until a model file's read has
    begun: the two reads overlap only if the model's starts without waiting for the
    manifest's answer."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3
        self.model_requested = threading.Event()
        self.overlapped: bool | None = None

    def get_object(self, **kwargs: Any) -> Any:
        if kwargs["Key"].endswith(f"/{MODEL_FILE}"):
            self.model_requested.set()
        elif kwargs["Key"].endswith(f"/{MANIFEST}"):
            self.overlapped = self.model_requested.wait(timeout=5)
        return self.s3.get_object(**kwargs)


def test_the_manifest_and_the_model_file_are_read_at_the_same_time(registry, published_model):
    probe = ManifestHeldUntilModelRequested(registry.s3)
    overlapping = ModelRegistry(probe, registry.bucket, registry.prefix)

    loaded = overlapping.load(published_model)

    assert probe.overlapped is True
    assert loaded.version == published_model


def test_missing_model_file_is_refused(registry, stack):
    files = with_version(artifact_files(), "half")
    registry.publish(files)
    boto3.client("s3", region_name=REGION).delete_object(
        Bucket=stack.bucket, Key=f"models/{stack.stage}/versions/half/{MODEL_FILE}"
    )

    with pytest.raises(ArtifactError, match="does not exist"):
        registry.load("half")


def test_running_function_keeps_serving_when_the_new_active_version_is_corrupt(
    registry, published_model, stack
):
    clock = FakeClock()
    provider = ModelProvider(registry, refresh_seconds=30, clock=clock)
    assert provider.current().version == published_model
    bad = upload_raw(registry, tampered(with_version(artifact_files(), "corrupt")))
    # Bypass activate()'s own check, as a careless operator editing S3 by hand would.
    pointer = {"version": bad, "activated_at": "now", "history": [published_model]}
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=stack.bucket, Key=f"models/{stack.stage}/active.json", Body=json.dumps(pointer)
    )

    clock.now = 31
    assert provider.current().version == published_model


def test_running_function_picks_up_a_new_active_version_after_the_refresh_interval(
    registry, published_model
):
    clock = FakeClock()
    provider = ModelProvider(registry, refresh_seconds=30, clock=clock)
    provider.current()
    newer = registry.publish(with_version(artifact_files(), "newer"))
    registry.activate(newer)

    clock.now = 29
    assert provider.current().version == published_model
    clock.now = 30
    assert provider.current().version == "newer"


def test_model_is_loaded_once_across_warm_calls(registry, published_model, monkeypatch):
    provider = ModelProvider(registry, refresh_seconds=30, clock=FakeClock())
    loads = []
    original = registry.load
    monkeypatch.setattr(registry, "load", lambda v: loads.append(v) or original(v))

    for _ in range(5):
        provider.current()

    assert loads == [published_model]


class Interrupted:
    """An S3 client that runs ``meanwhile`` once, just before the first write of the
    active pointer: another operator's change landing between this one's read and write."""

    def __init__(self, s3: Any, meanwhile: Any) -> None:
        self.s3, self.meanwhile = s3, meanwhile

    def __getattr__(self, name: str) -> Any:
        return getattr(self.s3, name)

    def put_object(self, **request: Any) -> Any:
        if request["Key"].endswith("/" + ACTIVE_POINTER) and self.meanwhile:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        return self.s3.put_object(**request)


def test_a_pointer_change_made_meanwhile_is_kept_and_the_later_one_refused(
    registry, published_model
):
    challenger = registry.publish(with_version(artifact_files(), "challenger"))
    second = registry.publish(with_version(artifact_files(), "second"))
    other = ModelRegistry(registry.s3, registry.bucket, registry.prefix)
    racing = ModelRegistry(
        Interrupted(registry.s3, lambda: other.set_challenger(challenger)),
        registry.bucket,
        registry.prefix,
    )

    with pytest.raises(PointerConflictError, match="try again"):
        racing.activate(second)
    pointer = registry.active()
    racing.activate(second)  # run again, it keeps the challenger set meanwhile
    after = registry.active()

    assert pointer is not None and after is not None
    assert (pointer["version"], pointer["challenger"]) == (published_model, challenger)
    assert (after["version"], after["challenger"]) == (second, challenger)
    assert after["history"] == [published_model]


def test_the_first_activation_is_refused_when_another_one_lands_first(registry):
    first = registry.publish(artifact_files())
    second = registry.publish(with_version(artifact_files(), "second"))
    racing = ModelRegistry(
        Interrupted(registry.s3, lambda: registry.activate(first)),
        registry.bucket,
        registry.prefix,
    )

    with pytest.raises(PointerConflictError):
        racing.activate(second)
    pointer = registry.active()

    assert pointer is not None and pointer["version"] == first


def test_no_active_model_is_unavailable(registry):
    provider = ModelProvider(registry, refresh_seconds=30, clock=FakeClock())

    with pytest.raises(ModelUnavailableError):
        provider.current()


def test_rollback_reactivates_the_previous_version(registry, published_model):
    registry.activate(registry.publish(with_version(artifact_files(), "second")))

    pointer = registry.rollback()

    assert pointer["version"] == published_model
