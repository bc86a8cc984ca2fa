"""POST /v1/score, GET /v1/transactions/{id}, GET /v1/health against moto."""

from __future__ import annotations

import json
import logging

import pytest

from tests.conftest import post_json, scan, transaction

PAN = "4111 1111 1111 1111"


def test_score_returns_decision_score_reasons_and_versions(api, published_model):
    response = post_json(api, "/v1/score", transaction())

    assert response.status_code == 200
    body = json.loads(response.body)
    assert set(body) == {
        "transaction_id",
        "decision",
        "score",
        "risk_score",
        "reasons",
        "model_version",
        "rules_version",
    }
    assert body["transaction_id"] == "tx-0001"
    assert body["decision"] in {"allow", "review", "block"}
    assert 0.0 <= body["score"] <= 1.0
    assert body["risk_score"] == round(body["score"] * 100)
    assert body["model_version"] == published_model
    assert body["reasons"] and all({"code", "message"} <= set(r) for r in body["reasons"])


def test_scored_transaction_is_stored_and_readable_by_id(api, stack):
    post_json(api, "/v1/score", transaction())

    response = api.http.get("/v1/transactions/tx-0001")

    assert response.status_code == 200
    stored = json.loads(response.body)
    assert stored["amount"] == 42.5 and stored["customer_id"] == "C-1001"
    assert stored["decision"] in {"allow", "review", "block"}
    assert stored["features"]["customer_nb_tx_1d"] == 1
    assert "email" not in stored and "ip_address" not in stored
    assert len(stored["email_hash"]) == 32
    [record] = scan(stack.decisions_table)
    assert "someone@example.com" not in json.dumps(record)


def test_unknown_transaction_is_404(api):
    response = api.http.get("/v1/transactions/never-seen")

    assert response.status_code == 404
    assert json.loads(response.body)["error"] == "not_found"


def test_velocity_state_counts_the_customers_transactions(api):
    for index, (hour, amount) in enumerate([(8, 10.0), (9, 20.0), (10, 60.0)]):
        post_json(
            api,
            "/v1/score",
            transaction(
                transaction_id=f"v-{index}", timestamp=f"2025-03-14T{hour:02d}:00:00", amount=amount
            ),
        )

    stored = json.loads(api.http.get("/v1/transactions/v-2").body)

    assert stored["features"]["customer_nb_tx_1d"] == 3
    assert stored["features"]["customer_avg_amount_1d"] == pytest.approx(30.0)
    assert stored["features"]["customer_nb_tx_30d"] == 3


def test_duplicate_transaction_id_returns_first_decision_and_changes_no_state(api, stack):
    first = post_json(api, "/v1/score", transaction())
    state_before = sorted(scan(stack.state_table), key=lambda item: item["pk"])

    again = post_json(api, "/v1/score", transaction(amount=9999.0))

    assert again.status_code == 200
    assert json.loads(again.body) == json.loads(first.body)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert sorted(scan(stack.state_table), key=lambda item: item["pk"]) == state_before
    assert len(scan(stack.decisions_table)) == 1


BAD_PAYLOADS = [
    ("missing transaction_id", {"transaction_id": None}, ["transaction_id"]),
    ("missing timestamp", {"timestamp": None}, ["timestamp"]),
    ("missing amount", {"amount": None}, ["amount"]),
    ("missing customer_id", {"customer_id": None}, ["customer_id"]),
    ("missing terminal_id", {"terminal_id": None}, ["terminal_id"]),
    ("unknown field", {"shoe_size": 42}, ["shoe_size"]),
    ("amount as string", {"amount": "12.50"}, ["amount"]),
    ("amount as boolean", {"amount": True}, ["amount"]),
    ("zero amount", {"amount": 0}, ["amount"]),
    ("negative amount", {"amount": -5}, ["amount"]),
    ("amount of a billion", {"amount": 1e9}, ["amount"]),
    ("transaction_id with a space", {"transaction_id": "tx 1"}, ["transaction_id"]),
    ("transaction_id too long", {"transaction_id": "x" * 129}, ["transaction_id"]),
    ("transaction_id as number", {"transaction_id": 17}, ["transaction_id"]),
    ("timestamp not ISO", {"timestamp": "14/03/2025 12:00"}, ["timestamp"]),
    ("timestamp as number", {"timestamp": 1714557600}, ["timestamp"]),
    ("unknown currency", {"currency": "XYZ"}, ["currency"]),
    ("lower-case currency", {"currency": "eur"}, ["currency"]),
    ("country not alpha-2", {"country": "BEL"}, ["country"]),
    ("bad ip address", {"ip_address": "300.1.2.3"}, ["ip_address"]),
    ("bad e-mail", {"email": "not-an-address"}, ["email"]),
    ("empty customer_id", {"customer_id": "  "}, ["customer_id"]),
    ("customer_id as number", {"customer_id": 1001}, ["customer_id"]),
    ("metadata not an object", {"metadata": [1, 2]}, ["metadata"]),
    ("metadata too large", {"metadata": {"blob": "x" * 3000}}, ["metadata"]),
    ("metadata too deep", {"metadata": {"a": {"b": {"c": {"d": {"e": 1}}}}}}, ["metadata"]),
    ("card number as card_id", {"card_id": PAN}, ["card_id"]),
    ("card number in metadata", {"metadata": {"note": f"paid with {PAN}"}}, ["metadata.note"]),
    ("card number digits only", {"customer_id": "4012888888881881"}, ["customer_id"]),
    (
        "three bad fields at once",
        {"amount": -1, "currency": "eur", "color": "red"},
        ["amount", "currency", "color"],
    ),
]


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [pytest.param(o, f, id=name) for name, o, f in BAD_PAYLOADS],
)
def test_bad_transaction_is_rejected_with_400_naming_every_field(api, stack, overrides, fields):
    response = post_json(api, "/v1/score", transaction(**overrides))

    assert response.status_code == 400
    body = json.loads(response.body)
    assert body["error"] == "invalid_transaction"
    assert {f["field"] for f in body["fields"]} == set(fields)
    assert PAN not in response.body.decode() and "4012888888881881" not in response.body.decode()
    assert scan(stack.decisions_table) == [] and scan(stack.state_table) == []


@pytest.mark.parametrize(
    "raw", ["", "{not json", "[1, 2]", '"a string"'], ids=["empty", "broken", "array", "string"]
)
def test_body_that_is_not_a_json_object_is_400_on_body(api, raw):
    response = post_json(api, "/v1/score", raw)

    assert response.status_code == 400
    assert [f["field"] for f in json.loads(response.body)["fields"]] == ["body"]


def test_card_number_is_never_logged(api, caplog, json_logs):
    caplog.set_level(logging.DEBUG)

    post_json(api, "/v1/score", transaction(metadata={"pan": PAN.replace(" ", "")}))
    post_json(api, "/v1/score", transaction(transaction_id="ok", metadata={"pan": "tok_1"}))

    logged = caplog.text + json_logs.getvalue()
    assert '"message":"scored"' in logged.replace(" ", "")
    assert PAN.replace(" ", "") not in logged and PAN not in logged


def test_health_reports_model_and_rules_versions(api, published_model):
    response = api.http.get("/v1/health")

    assert response.status_code == 200
    assert json.loads(response.body) == {
        "status": "ok",
        "model_version": published_model,
        "rules_version": "none",
    }


def test_feedback_labels_a_decision_once(api):
    post_json(api, "/v1/score", transaction())

    first = post_json(api, "/v1/feedback", {"transaction_id": "tx-0001", "is_fraud": True})
    again = post_json(api, "/v1/feedback", {"transaction_id": "tx-0001", "is_fraud": True})

    assert first.status_code == 200 and json.loads(first.body)["changed"] is True
    assert json.loads(again.body)["changed"] is False
    assert json.loads(api.http.get("/v1/transactions/tx-0001").body)["label"] is True


def test_feedback_for_unknown_transaction_is_404(api):
    response = post_json(api, "/v1/feedback", {"transaction_id": "nope", "is_fraud": False})

    assert response.status_code == 404


def test_feedback_with_bad_fields_is_400_naming_them(api):
    response = post_json(api, "/v1/feedback", {"transaction_id": "a b", "is_fraud": "yes", "x": 1})

    assert response.status_code == 400
    assert {f["field"] for f in json.loads(response.body)["fields"]} == {
        "transaction_id",
        "is_fraud",
        "x",
    }
