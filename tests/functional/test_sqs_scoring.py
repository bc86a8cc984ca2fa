"""The SQS handler: batch scoring with partial batch responses."""

from __future__ import annotations

import json

from tests.conftest import scan, sqs_event, transaction


def batch_bodies() -> tuple[list[str], set[int]]:
    bodies = []
    for index in range(10):
        payload = transaction(
            transaction_id=f"b-{index}",
            customer_id=f"C-{index % 3}",
            timestamp=f"2025-03-14T10:{index:02d}:00",
            amount=10.0 + index,
        )
        bodies.append(json.dumps(payload))
    bodies[3] = "{this is not json"
    bodies[7] = json.dumps(transaction(transaction_id="b-7", amount=-1))
    return bodies, {3, 7}


def test_batch_of_ten_with_two_bad_records_reports_exactly_those(api, stack):
    bodies, bad = batch_bodies()
    event = sqs_event(bodies)

    response = api.lambda_.invoke("score_queue", event)

    failed = {item["itemIdentifier"] for item in response.payload["batchItemFailures"]}
    assert failed == {event["Records"][i]["messageId"] for i in bad}
    stored = {record["transaction_id"] for record in scan(stack.decisions_table)}
    assert stored == {f"b-{i}" for i in range(10) if i not in bad}


def test_batch_sees_earlier_transactions_of_the_same_customer(api, stack):
    bodies, _ = batch_bodies()

    api.lambda_.invoke("score_queue", sqs_event(bodies))

    records = {r["transaction_id"]: r for r in scan(stack.decisions_table)}
    # C-0 has b-0, b-3 (bad), b-6, b-9: b-9 is its third stored transaction of the day.
    assert records["b-9"]["features"]["customer_nb_tx_1d"] == 3
    assert records["b-9"]["features"]["customer_avg_amount_1d"] == (10 + 16 + 19) / 3


def test_redelivered_batch_is_answered_from_stored_decisions_without_counting_twice(api, stack):
    bodies, _ = batch_bodies()
    api.lambda_.invoke("score_queue", sqs_event(bodies))
    state = sorted(scan(stack.state_table), key=lambda item: item["pk"])

    good = [b for i, b in enumerate(bodies) if i not in {3, 7}]
    response = api.lambda_.invoke("score_queue", sqs_event(good, receive_count=2))

    assert response.payload == {"batchItemFailures": []}
    assert sorted(scan(stack.state_table), key=lambda item: item["pk"]) == state


def test_batch_of_only_bad_records_reports_all_of_them(api):
    event = sqs_event(["[]", "{}"])

    response = api.lambda_.invoke("score_queue", event)

    assert len(response.payload["batchItemFailures"]) == 2
