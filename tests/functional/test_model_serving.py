"""Trained artifacts served by the API: anomaly-only deployments, reasons in words, and
versions needing features this deployment does not compute."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from chalicelib.features.online import OnlineFeatures
from chalicelib.model.artifact import Thresholds, build_artifact, read_directory, serialise_model
from chalicelib.model.compiled import LogisticModel
from chalicelib.model.registry import ModelProvider
from tests.conftest import ROOT, post_json, transaction
from tests.functional.test_model_registry import FakeClock, tampered, upload_raw, with_version
from tests.models import trained


def serve(registry, directory) -> Iterator[Any]:
    from chalice.test import Client

    from app import app

    registry.activate(registry.publish(read_directory(directory)))
    with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
        yield client


@pytest.fixture
def anomaly_only(registry) -> Iterator[Any]:
    yield from serve(registry, trained("anomaly"))


@pytest.fixture
def forest(registry) -> Iterator[Any]:
    yield from serve(registry, trained("forest"))


def test_anomaly_only_deployment_decides_on_the_anomaly_score(anomaly_only):
    response = post_json(anomaly_only, "/v1/score", transaction(amount=4_800.0))

    body = json.loads(response.body)
    stored = json.loads(anomaly_only.http.get("/v1/transactions/tx-0001").body)
    assert body["score"] == pytest.approx(stored["features"]["anomaly_score"], abs=1e-9)
    [model_reason, *feature_reasons] = body["reasons"]
    assert model_reason["code"] == "model_score"
    assert feature_reasons and all(
        "raises the anomaly score" in reason["message"] for reason in feature_reasons
    )


def test_reasons_of_a_forest_read_as_sentences_with_their_effect(forest):
    history = [
        transaction(transaction_id=f"h-{i}", amount=25.0, timestamp=f"2025-03-1{i}T10:00:00")
        for i in range(4)
    ]
    for payload in history:
        post_json(forest, "/v1/score", payload)

    body = json.loads(post_json(forest, "/v1/score", transaction(amount=950.0)).body)

    features = [r for r in body["reasons"] if r["code"] == "feature"]
    assert features
    assert {r["contribution_space"] for r in features} == {"probability"}
    assert all(f"raises the score by {r['contribution']:.2f}" in r["message"] for r in features)
    assert any(r["feature"].startswith(("amount", "customer_avg")) for r in features)


def test_a_version_reading_unknown_features_is_refused_and_the_previous_keeps_serving(
    registry, published_model
):
    unknown = LogisticModel(("amount", "velocity_5m"), coef=np.ones(2), intercept=-3.0)
    files = build_artifact(serialise_model(unknown, None, Thresholds(0.5, 0.9)), {"version": "v2"})
    provider = ModelProvider(registry, 30, FakeClock(), available_features=OnlineFeatures().names)
    assert provider.current().version == published_model
    registry.s3.put_object(
        Bucket=registry.bucket,
        Key=f"{registry.prefix}/active.json",
        Body=json.dumps({"version": registry.publish(files), "history": [published_model]}),
    )

    provider.clock.now = 30

    assert provider.current().version == published_model


def test_a_corrupt_challenger_is_refused_and_the_champion_serves_alone(registry, published_model):
    provider = ModelProvider(registry, 30, FakeClock())
    bad = upload_raw(registry, tampered(with_version(read_directory(trained("forest")), "bad")))
    pointer = {"version": published_model, "history": [], "challenger": bad}
    registry.s3.put_object(
        Bucket=registry.bucket, Key=f"{registry.prefix}/active.json", Body=json.dumps(pointer)
    )

    assert provider.current().version == published_model
    assert provider.challenger() is None

    registry.set_challenger(registry.publish(read_directory(trained("logistic"))))
    provider.clock.now = 30
    assert (
        provider.challenger().version
        == json.loads((trained("logistic") / "manifest.json").read_text())["version"]
    )
    assert provider.current().version == published_model
