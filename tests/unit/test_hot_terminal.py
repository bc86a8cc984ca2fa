"""A terminal taking 1,200 transactions in one second stays within DynamoDB's
per-partition limits, and its windows stay exact."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from chalicelib.features.spec import SECONDS_PER_DAY
from chalicelib.scoring import ScoringService
from chalicelib.transaction import Transaction
from fraudctl.offline.replay import memory_service
from tests.capacity import MeteredStore
from tests.conftest import DEFAULT_MODEL

BURST = 1_200
SECOND = int(datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC).timestamp())
MAX_WRITE_UNITS_PER_PARTITION = 1_000  # per second
MAX_READ_UNITS_PER_PARTITION = 3_000  # per second
TERMINAL = "T-HOT"


def payment(name: str, event_time: int, customer: str) -> Transaction:
    return Transaction(
        transaction_id=name,
        timestamp=datetime.fromtimestamp(event_time, UTC),
        event_time=event_time,
        amount=12.5,
        currency="EUR",
        customer_id=customer,
        terminal_id=TERMINAL,
    )


@pytest.fixture(scope="module")
def burst() -> tuple[ScoringService, MeteredStore]:
    """1,200 API calls at one terminal within one second, one label in seven fraud."""
    store = MeteredStore()
    service = dataclasses.replace(memory_service(DEFAULT_MODEL), store=store)
    for i in range(BURST):
        service.score(payment(f"hot-{i}", SECOND, f"C-{i}"))
    return service, store


def test_every_partition_stays_within_the_per_second_limits(burst):
    _, store = burst

    worst_write = max(store.write_units.values())
    worst_read = max(store.read_units.values())

    assert worst_write <= MAX_WRITE_UNITS_PER_PARTITION, store.write_units.most_common(3)
    assert worst_read <= MAX_READ_UNITS_PER_PARTITION, store.read_units.most_common(3)
    assert store.calls["fetch"] <= 2 * BURST  # at most two reads per API call


def test_the_writes_spread_over_every_shard(burst):
    _, store = burst

    terminal_keys = [k for k in store.write_units if k.startswith(f"terminal#{TERMINAL}#")]
    shards = {k.split("#")[2] for k in terminal_keys}

    assert shards == {f"s{k}" for k in range(8)}


def test_later_transactions_see_exact_counts_and_risk_of_the_burst(burst):
    service, _ = burst
    frauds = {f"hot-{i}" for i in range(0, BURST, 7)}
    for name in frauds:
        service.feedback(name, True)
    service.feedback("hot-7", False)  # a flip: back out of the fraud counts of its shard
    service.feedback("hot-8", False)  # a label that was never fraud changes nothing
    frauds.discard("hot-7")
    history = [(SECOND, name in frauds) for name in (f"hot-{i}" for i in range(BURST))]
    week = 7 * SECONDS_PER_DAY
    probes = [SECOND + week + offset for offset in (-1, 0, 1, SECONDS_PER_DAY - 1)]
    probes += [SECOND + week + d * SECONDS_PER_DAY + e for d in (1, 7, 30) for e in (-1, 0)]

    for n, moment in enumerate(sorted(probes)):
        features = service.score(payment(f"probe-{n}", moment, f"P-{n}")).record["features"]
        for days in (1, 7, 30):
            lo, hi = moment - week - days * SECONDS_PER_DAY, moment - week
            inside = [fraud for t, fraud in history if lo < t <= hi]
            assert features[f"terminal_nb_tx_{days}d"] == len(inside), (moment, days)
            risk = sum(inside) / len(inside) if inside else 0.0
            assert features[f"terminal_risk_{days}d"] == pytest.approx(risk, rel=1e-12)
        history.append((moment, False))
