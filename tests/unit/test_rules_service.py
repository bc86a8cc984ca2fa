"""Versioned rule changes, rollback, imports, limits; the cached provider; list use cases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.errors import ConcurrentUpdateError, NotFoundError, StoreError
from chalicelib.rules import Schema
from chalicelib.rules.components import build_components
from chalicelib.rules.limits import MAX_LIST_LOOKUPS, MAX_REVISIONS_PER_VERSION, MAX_RULES
from chalicelib.rules.list_service import ListsService
from chalicelib.rules.memory import MemoryListStore, MemoryRuleStore
from chalicelib.rules.provider import RulesUnavailableError
from chalicelib.rules.service import RuleExistsError, RuleSetError, RulesService
from chalicelib.rules.validation import BodyValidationError
from tests.rules_support import HASHER, NOW, SCHEMA, VALUES, FakeClock, tx

BIG = {"expression": "amount > 1000", "action": "block"}
WATCH = {"expression": "customer_id in @watchlist", "action": "review"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def service(clock: FakeClock) -> RulesService:
    return RulesService(MemoryRuleStore(), SCHEMA, clock=clock)


def test_every_change_is_a_new_version_with_time_author_and_change(service, clock):
    _, first = service.put("big", BIG, "ann")
    clock.now = NOW + timedelta(minutes=5)
    _, second = service.put("big", {**BIG, "expression": "amount > 2000"}, "bob")
    third = service.delete("big", "carl")

    assert [v.version for v in (first, second, third)] == [1, 2, 3]
    assert (second.author, second.created_at) == ("bob", (NOW + timedelta(minutes=5)).isoformat())
    assert second.change == {"op": "put", "rule_id": "big"}
    assert third.revisions == {} and service.current().version == 3
    history = service.history("big", 10)
    assert [(r.version, r.author, r.rule is None) for r in history] == [
        (3, "carl", True),
        (2, "bob", False),
        (1, "ann", False),
    ]
    assert [v.version for v in service.versions(2)] == [3, 2]


def test_a_change_that_changes_nothing_makes_no_version(service):
    service.put("big", BIG, "ann")

    _, again = service.put("big", dict(BIG), "bob")

    assert again.version == 1 and service.get("big").author == "ann"


def test_create_refuses_a_taken_id_and_delete_an_unknown_one(service):
    service.create({"rule_id": "big", **BIG}, "ann")

    with pytest.raises(RuleExistsError):
        service.create({"rule_id": "big", **BIG}, "ann")
    with pytest.raises(NotFoundError):
        service.delete("nope", "ann")
    with pytest.raises(NotFoundError):
        service.get("nope")


def test_rollback_to_any_version_restores_its_rules_as_a_new_version(service):
    service.put("big", BIG, "ann")
    service.put("watch", WATCH, "ann")
    service.put("big", {**BIG, "mode": "shadow"}, "bob")
    service.delete("watch", "bob")

    restored = service.rollback(2, "carl")

    assert restored.version == 5
    assert restored.change == {"op": "rollback", "to_version": "2"}
    assert restored.rules == service.version(2).rules
    assert service.get("big").author == "ann"
    with pytest.raises(NotFoundError):
        service.rollback(42, "carl")


def test_import_is_one_version_and_replace_deletes_what_it_does_not_name(service):
    service.put("old", BIG, "ann")

    [version] = service.import_rules(
        {"rules": [{"rule_id": "a", **BIG}, {"rule_id": "b", **WATCH}], "replace": True}, "pack"
    )

    assert sorted(version.revisions) == ["a", "b"]
    assert version.change["deleted"] == 1
    assert service.history("old", 1)[0].rule is None


def test_a_large_import_is_split_into_consecutive_versions(service):
    rules = [
        {"rule_id": f"r{i}", "expression": f"amount > {i}", "action": "review"} for i in range(150)
    ]

    versions = service.import_rules({"rules": rules}, "pack")

    assert [len(v.revisions) for v in versions] == [MAX_REVISIONS_PER_VERSION, 150]


def test_import_names_every_bad_rule_by_position(service):
    with pytest.raises(BodyValidationError) as caught:
        service.import_rules(
            {
                "rules": [
                    {"rule_id": "a", **BIG},
                    {"expression": "amount > 1", "action": "block"},
                    {"rule_id": "a", "expression": "amount >", "action": "block"},
                ],
                "replace": "yes",
            },
            "pack",
        )

    fields = [p.field for p in caught.value.problems]
    assert fields == ["replace", "rules[1].rule_id", "rules[2].expression"]
    assert service.current().version == 0


def test_rule_set_limits_are_enforced(service):
    service.import_rules({"rules": [{"rule_id": f"r{i}", **BIG} for i in range(MAX_RULES)]}, "pack")
    with pytest.raises(RuleSetError, match="at most 200 rules"):
        service.put("one_more", BIG, "ann")

    lookups = RulesService(MemoryRuleStore(), SCHEMA)
    many = " or ".join(f"card_id in @l{i}" for i in range(MAX_LIST_LOOKUPS // 2 + 1))
    lookups.put("half", {"expression": many, "action": "block"}, "ann")
    with pytest.raises(RuleSetError, match="list lookups"):
        lookups.put("other_half", {"expression": many, "action": "block"}, "ann")
    lookups.put("other_half", {"expression": many, "action": "block", "mode": "disabled"}, "ann")


def test_a_rule_that_no_longer_compiles_blocks_changes_until_it_is_fixed_or_deleted():
    store = MemoryRuleStore()
    RulesService(store, SCHEMA).put(
        "velocity", {"expression": "customer.nb_tx_1d > 5", "action": "review"}, "ann"
    )
    shrunk = RulesService(store, Schema.for_transaction([]))

    with pytest.raises(RuleSetError, match="velocity no longer compiles"):
        shrunk.put("big", BIG, "bob")
    shrunk.delete("velocity", "bob")
    assert shrunk.put("big", BIG, "bob")[1].version == 3


class RacingStore(MemoryRuleStore):
    """Another writer takes the next version just before our first write."""

    def __init__(self) -> None:
        super().__init__()
        self.raced = False

    def write(self, version, new_revisions):
        if not self.raced:
            self.raced = True
            RulesService(self, SCHEMA).put("rival", WATCH, "rival")
        super().write(version, new_revisions)


def test_a_lost_race_is_retried_from_a_fresh_read():
    store = RacingStore()
    service = RulesService(store, SCHEMA)

    _, version = service.put("big", BIG, "ann")

    assert version.version == 2 and sorted(version.revisions) == ["big", "rival"]


def test_a_store_that_never_lets_a_change_through_ends_in_a_conflict():
    class Stuck(MemoryRuleStore):
        def write(self, version, new_revisions):
            raise ConcurrentUpdateError("lost")

    with pytest.raises(ConcurrentUpdateError, match="keeps changing"):
        RulesService(Stuck(), SCHEMA).put("big", BIG, "ann")


# -- provider ---------------------------------------------------------------------------
def components(store: MemoryRuleStore, monotonic: FakeClock):
    return build_components(store, MemoryListStore(), SCHEMA, HASHER, 15, lambda _: None, monotonic)


def test_provider_reads_the_head_once_per_refresh_and_sees_a_change_after_it():
    store = MemoryRuleStore()
    monotonic = FakeClock(0.0)
    parts = components(store, monotonic)
    assert parts.provider.current().version == "none"
    RulesService(store, SCHEMA).put("big", BIG, "elsewhere")  # another function's change

    reads = store.calls["head"]
    for second in (1.0, 7.0, 14.9):
        monotonic.now = second
        assert parts.provider.current().version == "none"
    assert store.calls["head"] == reads
    monotonic.now = 15.0
    assert parts.provider.current().version == "1"
    assert store.calls["head"] == reads + 1 and store.calls["read"] == 1


def test_a_change_made_through_this_function_is_seen_by_its_next_decision():
    parts = components(MemoryRuleStore(), FakeClock(0.0))
    parts.provider.current()

    parts.rules.put("big", BIG, "ann")

    assert parts.provider.current().version == "1"
    assert [
        h.rule_id for h in parts.provider.current().evaluate(tx(amount=1500.0), {}, 0.1, {}).hits
    ] == ["big"]


class FailingStore(MemoryRuleStore):
    failing = False

    def head(self) -> int:
        if self.failing:
            raise StoreError("throttled")
        return super().head()


def test_provider_keeps_serving_when_the_store_fails_and_fails_cold_without_rules():
    store = FailingStore()
    monotonic = FakeClock(0.0)
    parts = components(store, monotonic)
    RulesService(store, SCHEMA).put("big", BIG, "ann")
    assert parts.provider.current().version == "1"

    store.failing = True
    monotonic.now = 100.0
    assert parts.provider.current().version == "1"

    cold = components(store, FakeClock(0.0))
    with pytest.raises(RulesUnavailableError):
        cold.provider.current()
    store.failing = False
    assert cold.provider.current().version == "1"


# -- lists --------------------------------------------------------------------------------
@pytest.fixture
def lists(clock: FakeClock) -> ListsService:
    return ListsService(MemoryListStore(), VALUES, clock=clock)


def test_list_items_expire_without_being_deleted(lists, clock):
    soon = (NOW + timedelta(hours=1)).isoformat()
    lists.add(
        "watchlist", {"items": [{"value": "C-1", "expires_at": soon}, {"value": "C-2"}]}, "ann"
    )

    assert lists.get("watchlist", "C-1").added_by == "ann"
    clock.now = NOW + timedelta(hours=2)
    with pytest.raises(NotFoundError):
        lists.get("watchlist", "C-1")
    assert [e.key for e in lists.items("watchlist", 10, None)[0]] == ["C-2"]
    assert [e.key for e in lists.items("watchlist", 10, None, include_expired=True)[0]] == [
        "C-1",
        "C-2",
    ]


def test_list_pages_continue_after_the_last_key(lists):
    lists.add("cards", {"items": [{"value": f"card_{i}"} for i in range(5)]}, "ann")

    first, after = lists.items("cards", 2, None)
    second, after2 = lists.items("cards", 2, after)
    third, end = lists.items("cards", 2, after2)

    assert [e.key for e in first + second + third] == [f"card_{i}" for i in range(5)]
    assert end is None


def test_list_changes_are_logged_with_author_and_removal_of_an_absent_value_is_404(lists):
    lists.add("emails", {"value": "bad@example.com"}, "ann")
    lists.remove("emails", "bad@example.com", "bob")

    with pytest.raises(NotFoundError):
        lists.remove("emails", "bad@example.com", "bob")
    changes = lists.changes("emails", 10)
    assert [(c.op, c.author, c.count) for c in changes] == [("remove", "bob", 1), ("add", "ann", 1)]
    assert "bad@example.com" not in repr(changes)


def test_list_names_are_validated():
    with pytest.raises(BodyValidationError):
        ListsService(MemoryListStore(), VALUES).add("bad-name", {"value": "x"}, "ann")
