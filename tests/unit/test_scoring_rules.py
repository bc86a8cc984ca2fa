"""Rules inside the scoring service (in-memory stores): suspensions ride with decisions."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.features.online import OnlineFeatures
from chalicelib.model.artifact import load_directory
from chalicelib.rules.components import RuleComponents, build_components
from chalicelib.rules.memory import MemoryListStore, MemoryRuleStore
from chalicelib.scoring import ScoringService
from chalicelib.state.memory import MemoryStore
from chalicelib.state.store import Commit, ListPut
from tests.conftest import DEFAULT_MODEL
from tests.rules_support import HASHER, NOW, SCHEMA, FakeClock, tx

MODEL = load_directory(DEFAULT_MODEL)
SUSPEND_BIG = {
    "expression": "amount > 900",
    "action": "suspend",
    "suspend": {"target": "customer_id", "duration": "1d"},
}


class Model:
    def current(self):
        return MODEL

    def challenger(self):
        return None


class Alerts:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, record: dict[str, Any]) -> None:
        self.published.append(record)


@pytest.fixture
def rules() -> RuleComponents:
    return build_components(
        MemoryRuleStore(), MemoryListStore(), SCHEMA, HASHER, 15, lambda _: None, FakeClock(0.0)
    )


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def service(store: MemoryStore, rules: RuleComponents) -> ScoringService:
    return ScoringService(
        store=store,
        models=Model(),
        rules=rules.provider,
        alerts=Alerts(),
        features=OnlineFeatures(),
        hasher=HASHER,
        clock=FakeClock(NOW),
    )


def test_suspension_is_committed_with_the_decision_and_blocks_the_next_transaction(
    service, store, rules
):
    rules.rules.put("big", SUSPEND_BIG, "ann")

    first = service.score(tx(amount=1500.0))
    later = service.score(tx(transaction_id="tx-2", amount=5.0, timestamp="2025-03-14T12:40:00"))
    other = service.score(tx(transaction_id="tx-3", amount=5.0, customer_id="C-2"))

    assert first.response["decision"] == "block"
    item = store.list_items[("suspended_customers", "C-1001")]
    assert item["transaction_id"] == "tx-0001" and item["rule_version"] == "1"
    assert later.response["decision"] == "block"
    assert later.response["reasons"][0]["rule_id"] == "suspension:suspended_customers"
    assert not any(r["code"] == "rule" for r in other.response["reasons"])


def test_a_later_transaction_of_the_same_batch_sees_the_suspension(service, store, rules):
    rules.rules.put("big", SUSPEND_BIG, "ann")

    results = service.score_batch(
        [
            tx(transaction_id="late", amount=5.0, timestamp="2025-03-14T12:45:00"),
            tx(transaction_id="early", amount=1500.0, timestamp="2025-03-14T12:40:00"),
        ]
    )

    assert [r.response["decision"] for r in results] == ["block", "block"]
    assert results[0].response["reasons"][0]["rule_id"] == "suspension:suspended_customers"
    assert store.calls["commit"] == 1


def test_a_redelivered_transaction_neither_duplicates_nor_extends_a_suspension(
    service, store, rules
):
    rules.rules.put("big", SUSPEND_BIG, "ann")
    service.score(tx(amount=1500.0))
    before = dict(store.list_items)
    service.clock.now = NOW.replace(hour=20)

    again = service.score(tx(amount=1500.0))

    assert again.created is False
    assert store.list_items == before


def test_a_duplicate_commit_writes_no_list_item():
    store = MemoryStore()
    first = ListPut("suspended_customers", "C-1", {"expires_at": 100})
    second = ListPut("suspended_customers", "C-1", {"expires_at": 999})

    store.commit([Commit("t1", {"transaction_id": "t1"}, [], [first])])
    outcome = store.commit([Commit("t1", {"transaction_id": "t1"}, [], [second])])

    assert outcome.duplicates == {"t1"}
    assert store.list_items[("suspended_customers", "C-1")] == {"expires_at": 100}


def test_shadow_hits_are_stored_with_the_decision_and_change_nothing(service, store, rules):
    rules.rules.put(
        "watch", {"expression": "amount > 10", "action": "block", "mode": "shadow"}, "ann"
    )

    result = service.score(tx())

    assert result.record["shadow_rules"] == [
        {
            "rule_id": "watch",
            "action": "block",
            "expression": "amount > 10",
            "explanation": "amount (42.50) > 10",
        }
    ]
    assert not any(r["code"] == "rule" for r in result.response["reasons"])
    assert store.decisions["tx-0001"]["rules_version"] == "1"
