"""A challenger scored in shadow on the API and SQS paths, and compared on labelled feedback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from chalicelib.model.artifact import load_directory, read_directory
from fraudctl.cli import main
from tests.conftest import ROOT, post_json, scan, sqs_event, transaction
from tests.functional.test_observability import json_lines
from tests.models import trained

CHAMPION = ("logistic",)
CHALLENGER = ("forest", True)  # with an isolation forest


@pytest.fixture
def versions(registry) -> tuple[str, str]:
    champion = registry.publish(read_directory(trained(*CHAMPION)))
    registry.activate(champion)
    challenger = registry.publish(read_directory(trained(*CHALLENGER)))
    registry.set_challenger(challenger)
    return champion, challenger


@pytest.fixture
def client(versions) -> Iterator[Any]:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local", project_dir=str(ROOT)) as test_client:
        yield test_client


def payload(index: int) -> dict[str, Any]:
    return transaction(
        transaction_id=f"s-{index}",
        customer_id=f"C-{index % 4}",
        terminal_id=f"T-{index % 3}",
        amount=round(5.0 + 61.7 * index, 2),
        timestamp=f"2025-03-14T09:{index:02d}:00",
    )


def assert_shadow_of(record: dict[str, Any], challenger: str) -> None:
    model = load_directory(trained(*CHALLENGER))
    shadow = record["challenger"]
    assert shadow["version"] == challenger
    assert shadow["score"] == pytest.approx(model.score([record["features"]]).scores[0], abs=1e-9)
    assert shadow["decision"] in {"allow", "review", "block"}


def test_api_answers_with_the_champion_and_stores_the_challengers_outcome(client, versions):
    champion, challenger = versions

    response = post_json(client, "/v1/score", payload(1))

    body = json.loads(response.body)
    assert body["model_version"] == champion and "challenger" not in body
    stored = json.loads(client.http.get("/v1/transactions/s-1").body)
    assert_shadow_of(stored, challenger)
    champion_model = load_directory(trained(*CHAMPION))
    assert body["score"] == pytest.approx(champion_model.score([stored["features"]]).scores[0])


def test_sqs_batch_stores_the_challengers_outcome_for_every_transaction(client, versions, stack):
    response = client.lambda_.invoke(
        "score_queue", sqs_event([json.dumps(payload(i)) for i in range(10)])
    )

    assert response.payload == {"batchItemFailures": []}
    records = scan(stack.decisions_table)
    assert len(records) == 10
    for record in records:
        assert record["model_version"] == versions[0]
        assert_shadow_of(record, versions[1])


def test_each_shadow_outcome_is_logged_beside_the_champions(client, versions, json_logs):
    post_json(client, "/v1/score", payload(2))

    [line] = [x for x in json_lines(json_logs.getvalue()) if x["message"] == "challenger scored"]
    assert line["transaction_id"] == "s-2"
    assert (line["model_version"], line["challenger_version"]) == versions
    assert line["agree"] == (line["decision"] == line["challenger_decision"])


def test_compare_reports_both_models_on_labelled_feedback(client, versions, stack, capsys):
    client.lambda_.invoke("score_queue", sqs_event([json.dumps(payload(i)) for i in range(10)]))
    client.lambda_.invoke("score_queue", sqs_event([json.dumps(payload(i)) for i in range(10, 16)]))
    frauds = {3, 7, 11}
    for index in range(12):  # s-12 .. s-15 stay unlabelled
        label = {"transaction_id": f"s-{index}", "is_fraud": index in frauds}
        assert post_json(client, "/v1/feedback", label).status_code == 200
    capsys.readouterr()

    code = main(["model", "compare", "--from", "2025-03-14", "--to", "2025-03-15", "--json"])

    assert code == 0
    comparison = json.loads(capsys.readouterr().out)
    assert (comparison["labelled"], comparison["labelled_without_challenger"]) == (12, 0)
    [pair] = comparison["pairs"]
    assert (pair["rows"], pair["frauds"]) == (12, 3)
    labelled = [r for r in scan(stack.decisions_table) if "label" in r]
    labels = np.array([r["label"] for r in labelled], dtype=int)
    for role, scores in (
        ("champion", [r["score"] for r in labelled]),
        ("challenger", [r["challenger"]["score"] for r in labelled]),
    ):
        assert pair[role]["auc"] == pytest.approx(roc_auc_score(labels, scores))
        assert pair[role]["average_precision"] == pytest.approx(
            average_precision_score(labels, scores)
        )
    agree = np.mean([r["decision"] == r["challenger"]["decision"] for r in labelled])
    assert pair["agreement"] == pytest.approx(agree)
    assert pair["champion"]["version"] == versions[0]
