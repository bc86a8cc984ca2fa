"""Each transaction counts once, however often it is delivered; labels count once and
flips correct the counts; late transactions land where their timestamp says."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Sequence
from typing import Any

from chalicelib import runtime
from chalicelib.state.store import Commit, CommitOutcome
from chalicelib.transaction import parse_transaction
from tests.conftest import post_json, scan, sqs_event, transaction


def score(api: Any, **fields: Any) -> dict[str, Any]:
    response = post_json(api, "/v1/score", transaction(**fields))
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def features(api: Any, transaction_id: str) -> dict[str, float]:
    return json.loads(api.http.get(f"/v1/transactions/{transaction_id}").body)["features"]


def label(api: Any, transaction_id: str, is_fraud: bool) -> dict[str, Any]:
    body = {"transaction_id": transaction_id, "is_fraud": is_fraud}
    return json.loads(post_json(api, "/v1/feedback", body).body)


def state(stack: Any) -> list[dict[str, Any]]:
    return sorted(scan(stack.state_table), key=lambda item: item["pk"])


def test_an_api_retry_counts_once(api, stack):
    first = score(api, transaction_id="r-1", timestamp="2025-03-14T10:00:00")
    before = state(stack)

    again = score(api, transaction_id="r-1", timestamp="2025-03-14T10:00:00")
    score(api, transaction_id="r-2", timestamp="2025-03-14T11:00:00", amount=17.5)

    assert again == first and before != state(stack)
    assert features(api, "r-2")["customer_nb_tx_1d"] == 2
    assert features(api, "r-2")["customer_avg_amount_1d"] == (42.5 + 17.5) / 2


def test_an_sqs_redelivery_and_a_duplicate_inside_a_batch_count_once(api, stack):
    bodies = [
        json.dumps(transaction(transaction_id=f"s-{i}", timestamp=f"2025-03-14T10:0{i}:00"))
        for i in range(3)
    ]
    api.lambda_.invoke("score_queue", sqs_event([*bodies, bodies[1]]))

    redelivered = api.lambda_.invoke("score_queue", sqs_event(bodies[:2], receive_count=2))
    score(api, transaction_id="s-9", timestamp="2025-03-14T10:09:00")

    assert redelivered.payload == {"batchItemFailures": []}
    assert len(scan(stack.decisions_table)) == 4
    assert features(api, "s-9")["customer_nb_tx_1d"] == 4
    minute = next(i for i in state(stack) if i["pk"].endswith("#m20161.10.0"))
    assert minute["c0"] == 1  # s-0 at 10:00:00, once


class BothReadBeforeEitherCommits:
    """A store whose commits wait until two callers have fetched: two deliveries of one
    transaction that both find no decision, then race to commit (serialised, as
    DynamoDB serialises transactions on the same item)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.both_fetched = threading.Barrier(2, timeout=30)
        self.one_at_a_time = threading.Lock()

    def commit(self, commits: Sequence[Commit]) -> CommitOutcome:
        self.both_fetched.wait()
        with self.one_at_a_time:
            return self.inner.commit(commits)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # fetch, get_decision, change_label


def test_two_deliveries_at_the_same_moment_count_once(api, stack):
    rt = runtime.current()
    racing = dataclasses.replace(rt.service, store=BothReadBeforeEitherCommits(rt.store))
    tx = parse_transaction(transaction(transaction_id="c-1"), default_currency="EUR")
    racing.models.current()  # the model is loaded before the race
    results: list[Any] = []

    def deliver() -> None:
        results.append(racing.score(tx))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(r.created for r in results) == [False, True]
    assert results[0].response == results[1].response
    assert len(scan(stack.decisions_table)) == 1
    ledger = next(i for i in state(stack) if i["pk"] == "customer#C-1001")
    assert len([name for name in ledger if name.startswith("e:")]) == 1
    minute = next(i for i in state(stack) if i["pk"].endswith("#m20161.12.30"))
    assert minute["c0"] == 1
    score(api, transaction_id="c-2", timestamp="2025-03-14T12:40:00")
    assert features(api, "c-2")["customer_nb_tx_1d"] == 2


def probe_risk(api: Any, name: str) -> float:
    """The terminal's 1-day fraud rate seen by a transaction 7 days and 1 hour later."""
    score(api, transaction_id=name, customer_id=f"P-{name}", timestamp="2025-03-21T13:30:00")
    return features(api, name)["terminal_risk_1d"]


def test_feedback_twice_counts_once_and_each_flip_corrects_the_terminal_risk(api):
    score(api, transaction_id="f-1", timestamp="2025-03-14T12:30:00")
    score(api, transaction_id="f-2", customer_id="C-2", timestamp="2025-03-14T12:31:00")

    assert label(api, "f-1", True)["changed"] is True
    assert label(api, "f-1", True)["changed"] is False
    assert probe_risk(api, "p-1") == 0.5
    label(api, "f-1", False)
    assert probe_risk(api, "p-2") == 0.0
    label(api, "f-1", True)
    label(api, "f-2", True)
    assert probe_risk(api, "p-3") == 1.0
    assert features(api, "p-3")["terminal_nb_tx_1d"] == 2  # probes are later than the window


def test_a_late_transaction_lands_where_its_timestamp_says(api):
    score(api, transaction_id="o-1", timestamp="2025-03-14T10:00:00", amount=10.0)
    score(api, transaction_id="o-2", timestamp="2025-03-14T09:00:00", amount=30.0)  # late
    score(api, transaction_id="o-3", timestamp="2025-03-14T09:30:00", amount=50.0)  # late too

    seen_by_late = features(api, "o-3")
    assert seen_by_late["customer_nb_tx_1d"] == 2  # o-2 and itself, not o-1 (after it)
    assert seen_by_late["customer_avg_amount_1d"] == 40.0
    assert seen_by_late["customer_seconds_since_prev_30d"] == 1_800
    week_later = [("w-1", "2025-03-21T09:15:00", 1), ("w-2", "2025-03-21T10:00:00", 3)]
    for name, stamp, expected in week_later:
        score(api, transaction_id=name, customer_id=f"Q-{name}", timestamp=stamp)
        assert features(api, name)["terminal_nb_tx_1d"] == expected, name
