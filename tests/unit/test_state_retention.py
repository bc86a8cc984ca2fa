"""State does not grow forever: every item carries a TTL, and later writes prune."""

from __future__ import annotations

from chalicelib.features.online import OnlineFeatures
from chalicelib.features.spec import CUSTOMER, SECONDS_PER_DAY, TERMINAL, FeatureConfig
from chalicelib.state.memory import MemoryStore
from chalicelib.state.store import Commit
from tests.unit.test_online_features import START, make_tx


def record(store: MemoryStore, engine: OnlineFeatures, tx) -> None:
    items = store.fetch(state_keys=engine.read_keys(tx)).items
    store.commit([Commit(tx.transaction_id, {}, engine.record(tx, items).updates)])


def kind_of(key: str) -> str:
    parts = key.split("#")
    return "ledger" if len(parts) == 2 else parts[-1][0]  # r, d, h, m


def test_every_state_item_expires_after_its_retention():
    engine, store = OnlineFeatures(), MemoryStore()
    times = [START + 3_600 * k for k in range(0, 24 * 5, 7)]
    for i, t in enumerate(times):
        record(store, engine, make_tx(i, t, "C1", "T1", 10.0))
    last = times[-1]
    customer_keep = CUSTOMER.retention_seconds  # 30 + 1 days
    terminal_keep = TERMINAL.retention_seconds  # 30 + 7 + 1 days

    kinds = {kind_of(key) for key in store.items}
    assert kinds == {"ledger", "r", "d", "h", "m"}
    for key, item in store.items.items():
        expires = item["expires_at"]
        assert isinstance(expires, int), key
        if kind_of(key) == "ledger":
            assert expires == last + customer_keep
        elif kind_of(key) == "r":
            assert expires == last + terminal_keep
        else:  # day, hour and minute items: past the end of their day plus the retention
            day_end = (int(key.split("#")[-1][1:].split(".")[0]) + 1) * SECONDS_PER_DAY
            assert expires == day_end + terminal_keep
            assert expires > times[0] + terminal_keep


def test_later_writes_remove_events_and_day_buckets_past_the_retention():
    engine, store = OnlineFeatures(), MemoryStore()
    record(store, engine, make_tx(0, START, "C1", "T1", 10.0))
    record(store, engine, make_tx(1, START + 10 * SECONDS_PER_DAY, "C1", "T1", 20.0))
    old_day = START // SECONDS_PER_DAY
    assert len([n for n in store.items["customer#C1"] if n.startswith("e:")]) == 2
    assert f"c{old_day}" in store.items["terminal#T1#s0#r"]

    later = START + 45 * SECONDS_PER_DAY
    record(store, engine, make_tx(2, later, "C1", "T1", 30.0))

    events = [v for n, v in store.items["customer#C1"].items() if n.startswith("e:")]
    assert [e[0] for e in events] == [later]  # both older events were past 31 days
    rolling = store.items["terminal#T1#s0#r"]
    assert f"c{old_day}" not in rolling and f"a{old_day}" not in rolling
    assert f"c{old_day + 10}" in rolling  # 35 days back: still inside 30 + 7 + 1 days
    assert rolling[f"c{later // SECONDS_PER_DAY}"] == 1


def test_a_ledger_keeps_at_most_its_event_cap():
    engine = OnlineFeatures(FeatureConfig(entities=(CUSTOMER, TERMINAL), max_ledger_events=5))
    store = MemoryStore()
    for i in range(12):
        record(store, engine, make_tx(i, START + 60 * i, "C1", "T1", 1.0 + i))

    events = [v for n, v in store.items["customer#C1"].items() if n.startswith("e:")]
    assert sorted(e[0] for e in events) == [START + 60 * i for i in range(7, 12)]


def test_only_the_first_write_of_a_day_drops_day_buckets():
    """Stale day buckets go with the day's first write; the day's later writes find none
    left and carry no removal."""
    engine, store = OnlineFeatures(), MemoryStore()
    record(store, engine, make_tx(0, START, "C1", "T1", 10.0))
    later = START + 45 * SECONDS_PER_DAY
    old_day, day = START // SECONDS_PER_DAY, later // SECONDS_PER_DAY

    removed = []
    for number, at in enumerate((later, later + 60, later + 3_600), start=1):
        tx = make_tx(number, at, "C1", "T1", 20.0)
        updates = engine.record(tx, store.fetch(state_keys=engine.read_keys(tx)).items).updates
        store.commit([Commit(tx.transaction_id, {}, updates)])
        removed.append(set().union(*(u.remove for u in updates if u.key.endswith("#r"))))

    assert removed == [{f"c{old_day}", f"a{old_day}"}, set(), set()]
    rolling = store.items["terminal#T1#s0#r"]
    assert f"c{old_day}" not in rolling and rolling[f"c{day}"] == 3
