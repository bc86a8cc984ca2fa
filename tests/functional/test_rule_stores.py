"""The rule and list stores keep one contract in DynamoDB (moto) and in memory; the scoring
commit writes suspensions atomically with decisions."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import boto3
import pytest

from chalicelib.errors import ConcurrentUpdateError, NotFoundError
from chalicelib.rules.dynamodb import DynamoListStore, DynamoRuleStore
from chalicelib.rules.lists import ListEntry
from chalicelib.rules.memory import MemoryListStore, MemoryRuleStore
from chalicelib.rules.store import ListChange, Revision, RuleSetVersion
from chalicelib.state.dynamodb import DynamoStore
from chalicelib.state.store import Commit, ListPut
from tests.conftest import scan
from tests.rules_support import rule

AT = datetime(2025, 3, 14, tzinfo=UTC).isoformat()
LATER = datetime(2025, 3, 15, tzinfo=UTC).isoformat()


def client():
    return boto3.client("dynamodb", region_name=os.environ["AWS_REGION"])


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request):
    if request.param == "memory":
        return MemoryRuleStore(), MemoryListStore()
    stack = request.getfixturevalue("stack")
    return (
        DynamoRuleStore(client(), stack.config_table),
        DynamoListStore(client(), stack.config_table),
    )


def version(number: int, **rules) -> tuple[RuleSetVersion, list[Revision]]:
    revisions = {rid: Revision(rid, number, AT, "ann", r) for rid, r in rules.items()}
    return RuleSetVersion(number, AT, "ann", {"op": "put"}, revisions), list(revisions.values())


def test_versions_are_written_only_on_top_of_the_head_and_read_back_whole(stores):
    rule_store, _ = stores
    big = rule("big", "amount > 1000", "suspend", suspend={"target": "card_id", "duration": "3h"})
    first, revisions = version(1, big=big)

    assert rule_store.head() == 0
    rule_store.write(first, revisions)
    with pytest.raises(ConcurrentUpdateError):
        rule_store.write(first, revisions)
    with pytest.raises(ConcurrentUpdateError):
        rule_store.write(version(3)[0], [])
    rule_store.write(version(2)[0], [Revision("big", 2, AT, "bob", None)])

    assert rule_store.head() == 2
    assert rule_store.read(1) == first
    assert rule_store.read(1).rules == [big]
    assert [v.version for v in rule_store.versions(5)] == [2, 1]
    assert [(r.version, r.rule) for r in rule_store.history("big", 5)] == [(2, None), (1, big)]
    with pytest.raises(NotFoundError):
        rule_store.read(9)


def test_list_items_are_upserted_paged_removed_and_logged(stores):
    _, list_store = stores
    entries = [ListEntry(f"k{i:02d}", f"k{i:02d}", None, AT, "ann") for i in range(30)]
    entries[3] = ListEntry("k03", None, 1_900_000_000, AT, "ann", "hashed one")

    list_store.put("watch", entries, ListChange("watch", "add", AT, "ann", 30, ("k00",)))
    page, after = list_store.page("watch", 25, None)
    rest, end = list_store.page("watch", 25, after)

    assert [e.key for e in page + rest] == [f"k{i:02d}" for i in range(30)] and end is None
    assert list_store.get("watch", "k03") == entries[3]
    assert list_store.delete(
        "watch", "k03", ListChange("watch", "remove", LATER, "bob", 1, ("k03",))
    )
    assert not list_store.delete("watch", "k03", ListChange("watch", "remove", LATER, "bob", 1))
    assert list_store.get("watch", "k03") is None
    assert [c.op for c in list_store.changes("watch", 5)] == ["remove", "add"]


def test_a_suspension_rides_with_its_decision_and_a_duplicate_writes_nothing(stack):
    store = DynamoStore(client(), stack.decisions_table, stack.state_table, stack.config_table)
    first = ListPut("suspended_customers", "C-1", {"expires_at": 100, "transaction_id": "t1"})
    rival = ListPut("suspended_customers", "C-1", {"expires_at": 999, "transaction_id": "t1"})
    same_customer = ListPut(
        "suspended_customers", "C-1", {"expires_at": 555, "transaction_id": "t2"}
    )

    done = store.commit(
        [
            Commit("t1", {"transaction_id": "t1"}, [], [first]),
            Commit("t2", {"transaction_id": "t2"}, [], [same_customer]),
        ]
    )
    again = store.commit([Commit("t1", {"transaction_id": "t1", "x": 1}, [], [rival])])

    assert done.committed == {"t1", "t2"} and again.duplicates == {"t1"}
    [item] = [i for i in scan(stack.config_table) if i["pk"] == "list#suspended_customers"]
    assert (item["sk"], item["expires_at"], item["transaction_id"]) == ("C-1", 100, "t1")
