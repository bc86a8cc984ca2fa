"""Powertools logs and metrics work under Chalice (context injected by the middleware)."""

from __future__ import annotations

import json

from tests.conftest import post_json, sqs_event, transaction


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_api_decision_is_logged_as_json_with_the_lambda_context(api, json_logs):
    post_json(api, "/v1/score", transaction())

    logs = json_lines(json_logs.getvalue())
    [scored] = [line for line in logs if line.get("message") == "scored"]
    assert scored["transaction_id"] == "tx-0001" and scored["replayed"] is False
    assert scored["service"] == "fraud-detection"
    assert scored["function_request_id"] and "cold_start" in scored
    assert "someone@example.com" not in json.dumps(logs)


def test_sqs_decisions_are_logged_per_record(api, json_logs):
    bodies = [json.dumps(transaction(transaction_id=f"log-{i}")) for i in range(3)]

    api.lambda_.invoke("score_queue", sqs_event(bodies))

    logs = json_lines(json_logs.getvalue())
    assert {line["transaction_id"] for line in logs if line.get("message") == "scored"} == {
        "log-0",
        "log-1",
        "log-2",
    }
