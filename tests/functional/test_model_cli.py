"""``fraudctl model`` against moto: publish, list, promote, rollback, challenger, and what a
running function sees of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chalicelib import runtime
from chalicelib.model.artifact import MANIFEST, MODEL_FILE
from fraudctl.cli import main
from tests.conftest import DEFAULT_MODEL, post_json, transaction
from tests.functional.test_model_registry import FakeClock, tampered, upload_raw
from tests.models import trained


def fraudctl(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    """Run ``fraudctl model ...``; returns its exit code and what it alone printed."""
    capsys.readouterr()  # the functions' log lines so far
    code = main(["model", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def published(capsys, directory: Path, *options: str) -> str:
    code, out, err = fraudctl(capsys, "publish", str(directory), *options)
    assert code == 0, err
    return json.loads(out)["version"]


def manifest_version(directory: Path) -> str:
    return json.loads((directory / MANIFEST).read_text())["version"]


def test_publish_uploads_every_file_under_its_version_and_activates_it(stack, registry, capsys):
    directory = trained("forest")

    version = published(capsys, directory)

    assert version == manifest_version(directory)
    assert registry.active()["version"] == version
    keys = {
        entry["Key"]
        for entry in registry.s3.list_objects_v2(Bucket=stack.bucket)["Contents"]
        if f"/versions/{version}/" in entry["Key"]
    }
    prefix = f"models/{stack.stage}/versions/{version}/"
    assert keys == {prefix + MANIFEST, prefix + MODEL_FILE, prefix + "estimator.joblib"}


def test_publish_without_activation_then_promote_then_rollback(stack, registry, capsys):
    first = published(capsys, trained("logistic"))
    second = published(capsys, trained("forest"), "--no-activate")
    assert registry.active()["version"] == first

    code, out, _ = fraudctl(capsys, "promote", second)
    assert code == 0 and json.loads(out)["version"] == second
    assert registry.active()["history"] == [first]

    code, out, _ = fraudctl(capsys, "rollback")
    assert code == 0 and registry.active()["version"] == first


def test_list_shows_versions_with_their_roles(stack, capsys):
    first = published(capsys, trained("logistic"))
    second = published(capsys, trained("forest"), "--no-activate")
    assert fraudctl(capsys, "challenger", second)[0] == 0

    code, out, _ = fraudctl(capsys, "list")

    assert code == 0
    rows = {line.split(" | ")[0].strip("| "): line for line in out.splitlines()[2:]}
    assert set(rows) == {first, second}
    assert "| active | logistic |" in rows[first]
    assert "| challenger | forest |" in rows[second]
    code, out, _ = fraudctl(capsys, "list", "--json")
    manifests = json.loads(out)
    assert {m["version"] for m in manifests} == {first, second}
    assert manifests[0]["created_at"] <= manifests[1]["created_at"]


def test_stage_option_selects_another_registry(stack, registry, capsys):
    version = published(capsys, trained("logistic"), "--stage", "canary")

    assert registry.versions() == []
    code, out, _ = fraudctl(capsys, "list", "--stage", "canary", "--json")
    assert code == 0 and [m["version"] for m in json.loads(out)] == [version]


def test_publish_refuses_a_corrupt_directory_and_uploads_nothing(stack, registry, capsys, tmp_path):
    directory = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL, directory)
    files = tampered({MODEL_FILE: (directory / MODEL_FILE).read_bytes()})
    (directory / MODEL_FILE).write_bytes(files[MODEL_FILE])

    code, _, err = fraudctl(capsys, "publish", str(directory))

    assert code == 2 and "SHA-256" in err
    assert registry.versions() == []


def test_promote_refuses_a_version_corrupted_in_s3(stack, registry, capsys):
    good = published(capsys, trained("logistic"))
    bad_files = tampered(
        {name: (trained("forest") / name).read_bytes() for name in (MANIFEST, MODEL_FILE)}
    )
    bad = upload_raw(registry, bad_files)

    code, _, err = fraudctl(capsys, "promote", bad)

    assert code == 2 and "refusing to load it" in err
    assert registry.active()["version"] == good


def test_challenger_is_set_checked_and_cleared(stack, registry, capsys):
    champion = published(capsys, trained("logistic"))
    challenger = published(capsys, trained("forest"), "--no-activate")

    assert fraudctl(capsys, "challenger", challenger)[0] == 0
    assert registry.active()["challenger"] == challenger
    code, _, err = fraudctl(capsys, "challenger", champion)
    assert code == 2 and "cannot challenge itself" in err

    # Promoting the challenger makes it the champion and ends the challenge.
    assert fraudctl(capsys, "promote", challenger)[0] == 0
    assert "challenger" not in registry.active()

    assert fraudctl(capsys, "challenger", champion)[0] == 0
    assert fraudctl(capsys, "challenger", "--clear")[0] == 0
    assert "challenger" not in registry.active()


def test_model_commands_without_a_bucket_or_stack_say_how_to_name_one(
    aws, capsys, monkeypatch, tmp_path
):
    monkeypatch.delenv("FRAUD_BUCKET", raising=False)
    monkeypatch.setenv("FRAUD_LOCAL_DIR", str(tmp_path))

    code, _, err = fraudctl(capsys, "list")

    assert code == 2 and "make run" in err


def score_version(api, transaction_id: str) -> str:
    response = post_json(api, "/v1/score", transaction(transaction_id=transaction_id))
    assert response.status_code == 200
    return json.loads(response.body)["model_version"]


def provider_clock() -> FakeClock:
    """A fake clock for the running function's model provider, started where the real
    one stands: the runtime's build has just read the active pointer."""
    clock = FakeClock()
    models = runtime.current().models
    clock.now = models.clock()
    models.clock = clock
    return clock


def test_running_function_serves_a_published_version_within_a_minute(api, published_model, capsys):
    clock = provider_clock()
    assert score_version(api, "t-0") == published_model

    newer = published(capsys, trained("forest"))
    clock.now += 25.0
    before = score_version(api, "t-1")
    clock.now += 35.0
    after = score_version(api, "t-2")

    assert (before, after) == (published_model, newer)


def test_running_function_keeps_serving_when_the_pointer_names_a_corrupt_version(
    api, published_model, registry, capsys, caplog
):
    clock = provider_clock()
    score_version(api, "t-0")
    bad = upload_raw(
        registry,
        tampered(
            {name: (trained("forest") / name).read_bytes() for name in (MANIFEST, MODEL_FILE)}
        ),
    )
    pointer = {"version": bad, "activated_at": "now", "history": [published_model]}
    registry.s3.put_object(
        Bucket=registry.bucket, Key=f"{registry.prefix}/active.json", Body=json.dumps(pointer)
    )

    clock.now += 60.0

    assert score_version(api, "t-1") == published_model
    assert f"refused model version {bad}" in caplog.text
    code, _, _ = fraudctl(capsys, "rollback")
    assert code == 0 and registry.active()["version"] == published_model
