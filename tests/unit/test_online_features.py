"""Online features from state equal a brute-force computation over the raw events."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from chalicelib.features.online import OnlineFeatures
from chalicelib.features.spec import (
    CUSTOMER,
    SECONDS_PER_DAY,
    TERMINAL,
    FeatureConfig,
    feature_definitions,
)
from chalicelib.state.memory import MemoryStore
from chalicelib.state.store import Commit
from chalicelib.transaction import Transaction

START = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp())


def make_tx(i: int, event_time: int, customer: str, terminal: str, amount: float) -> Transaction:
    return Transaction(
        transaction_id=f"tx-{i}",
        timestamp=datetime.fromtimestamp(event_time, UTC),
        event_time=event_time,
        amount=amount,
        currency="EUR",
        customer_id=customer,
        terminal_id=terminal,
    )


def brute_force(history: list[tuple[Transaction, int]], tx: Transaction) -> dict[str, float]:
    """Independent computation: scan every earlier event (labels all known)."""
    values: dict[str, float] = {"amount": tx.amount}
    values["is_weekend"] = float(tx.timestamp.weekday() >= 5)
    values["is_night"] = float(tx.timestamp.hour <= 6)
    t = tx.event_time
    for days in (1, 7, 30):
        own = [h for h, _ in history if h.customer_id == tx.customer_id]
        own = [h for h in own if t - days * SECONDS_PER_DAY < h.event_time <= t] + [tx]
        values[f"customer_nb_tx_{days}d"] = len(own)
        values[f"customer_avg_amount_{days}d"] = sum(h.amount for h in own) / len(own)
        hi, lo = t - 7 * SECONDS_PER_DAY, t - (7 + days) * SECONDS_PER_DAY
        term = [
            (h, f)
            for h, f in history
            if h.terminal_id == tx.terminal_id and lo < h.event_time <= hi
        ]
        values[f"terminal_nb_tx_{days}d"] = len(term)
        values[f"terminal_risk_{days}d"] = sum(f for _, f in term) / len(term) if term else 0.0
    return values


def replay(config: FeatureConfig, transactions: list[tuple[Transaction, int]]) -> MemoryStore:
    engine = OnlineFeatures(config)
    store = MemoryStore()
    history: list[tuple[Transaction, int]] = []
    for tx, fraud in transactions:
        snapshot = store.fetch([tx.transaction_id], engine.read_keys(tx))
        extra = engine.extra_read_keys(tx, snapshot.items)
        if extra:
            snapshot = snapshot.merged(store.fetch(state_keys=extra))
        got = engine.compute(tx, snapshot.items)
        expected = brute_force(history, tx)
        assert got.keys() == expected.keys()
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), (
                tx.transaction_id,
                name,
            )
        recorded = engine.record(tx, snapshot.items, fraud=fraud)
        store.commit(
            [Commit(tx.transaction_id, {"transaction_id": tx.transaction_id}, recorded.updates)]
        )
        history.append((tx, fraud))
    return store


def random_stream(seed: int, n: int, span_days: int, burst_terminal: str | None = None):
    rng = random.Random(seed)
    times = sorted(START + rng.randrange(span_days * SECONDS_PER_DAY) for _ in range(n))
    # Out-of-order arrivals: swap a few neighbours so some events arrive late.
    for _ in range(n // 20):
        i = rng.randrange(n - 1)
        times[i], times[i + 1] = times[i + 1], times[i]
    stream = []
    for i, t in enumerate(times):
        terminal = burst_terminal if burst_terminal and i % 2 else f"T{rng.randrange(6)}"
        stream.append(
            (
                make_tx(i, t, f"C{rng.randrange(8)}", terminal, round(rng.uniform(1, 300), 2)),
                int(rng.random() < 0.2),
            )
        )
    return stream


def test_features_equal_brute_force_over_sixty_days_with_late_events():
    config = FeatureConfig(entities=(CUSTOMER, TERMINAL))
    replay(config, random_stream(seed=7, n=600, span_days=60))


def test_hot_terminal_spreads_writes_over_shards_and_stays_exact():
    config = FeatureConfig(entities=(CUSTOMER, TERMINAL), hot_shards=4, hot_minute_count=3)
    stream = random_stream(seed=11, n=500, span_days=12, burst_terminal="HOT")
    # Dense bursts: put the hot terminal's events into a few minutes of each day.
    dense = []
    for tx, fraud in stream:
        if tx.terminal_id == "HOT":
            day_start = tx.event_time - tx.event_time % SECONDS_PER_DAY
            t = day_start + 12 * 3600 + tx.event_time % 180
            tx = make_tx(int(tx.transaction_id[3:]), t, tx.customer_id, "HOT", tx.amount)
        dense.append((tx, fraud))
    dense.sort(key=lambda pair: pair[0].event_time)
    store = replay(config, dense)
    used_shards = {key.split("#")[2] for key in store.items if key.startswith("terminal#HOT#")}
    assert used_shards == {"s0", "s1", "s2", "s3"}


def test_feature_names_follow_the_contract():
    names = [d.name for d in feature_definitions()]
    assert names[:3] == ["amount", "is_weekend", "is_night"]
    assert {"customer_nb_tx_30d", "customer_avg_amount_7d", "terminal_risk_1d"} <= set(names)
