"""Online features from state equal a brute-force computation over the raw events."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime

import pytest

from chalicelib.features.online import OnlineFeatures
from chalicelib.features.spec import (
    CARD,
    CUSTOMER,
    SECONDS_PER_DAY,
    TERMINAL,
    EntitySpec,
    FeatureConfig,
    FeatureDef,
    WindowRef,
    feature_definitions,
)
from chalicelib.features.statistics import UnknownStatisticError
from chalicelib.state.memory import MemoryStore
from chalicelib.state.store import Commit
from chalicelib.transaction import Transaction

START = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp())
COUNTRIES = ("FR", "BE", "DE", None)
DEVICES = ("dev-a", "dev-b", "dev-c", None)


def make_tx(
    i: int,
    event_time: int,
    customer: str,
    terminal: str,
    amount: float,
    **fields: str | None,
) -> Transaction:
    return Transaction(
        transaction_id=f"tx-{i}",
        timestamp=datetime.fromtimestamp(event_time, UTC),
        event_time=event_time,
        amount=amount,
        currency="EUR",
        customer_id=customer,
        terminal_id=terminal,
        **fields,
    )


def ledger_expected(spec: EntitySpec, own: list[Transaction], tx: Transaction) -> dict:
    """Independent computation of a ledger entity's features: scan its earlier events."""
    t = tx.event_time
    values: dict[str, float] = {}
    for days in spec.windows_days:
        window = [h for h in own if t - days * SECONDS_PER_DAY < h.event_time <= t] + [tx]
        values[f"{spec.name}_nb_tx_{days}d"] = len(window)
        values[f"{spec.name}_avg_amount_{days}d"] = sum(h.amount for h in window) / len(window)
    nouns = {"terminal_id": "terminals", "country": "countries", "device_id": "devices"}
    for attribute in spec.attributes:
        for days in spec.distinct_windows_days:
            window = [h for h in own if t - days * SECONDS_PER_DAY < h.event_time <= t] + [tx]
            seen = {h.get(attribute) for h in window} - {None}
            values[f"{spec.name}_nb_{nouns[attribute]}_{days}d"] = len(seen)
    if spec.profile_days:
        horizon = spec.profile_days * SECONDS_PER_DAY
        earlier = [h for h in own if t - horizon < h.event_time <= t]
        amounts = [h.amount for h in earlier]
        suffix = f"{spec.profile_days}d"
        values[f"{spec.name}_amount_ratio_{suffix}"] = (
            tx.amount / statistics.mean(amounts) if amounts else 1.0
        )
        values[f"{spec.name}_amount_zscore_{suffix}"] = (
            (tx.amount - statistics.mean(amounts)) / max(statistics.pstdev(amounts), 1.0)
            if len(amounts) >= 2
            else 0.0
        )
        values[f"{spec.name}_seconds_since_prev_{suffix}"] = (
            t - max(h.event_time for h in earlier) if earlier else horizon
        )
    if spec.burst_seconds:
        window = [h for h in own if t - spec.burst_seconds < h.event_time <= t] + [tx]
        small = sum(1 for h in window if h.amount <= spec.small_amount)
        values[f"{spec.name}_nb_small_tx_{spec.burst_seconds // 60}m"] = small
    return values


def absent_expected(spec: EntitySpec) -> dict[str, float]:
    """A transaction without the entity's id: empty windows (ratio 1, the horizon)."""
    values = {}
    for name in (d.name for d in feature_definitions(FeatureConfig(entities=(spec,)))[3:]):
        if "_amount_ratio_" in name:
            values[name] = 1.0
        elif "_seconds_since_prev_" in name:
            values[name] = float(spec.profile_days * SECONDS_PER_DAY)
        else:
            values[name] = 0.0
    return values


def brute_force(
    config: FeatureConfig, history: list[tuple[Transaction, int]], tx: Transaction
) -> dict[str, float]:
    """Every feature of ``tx`` from the transactions that arrived before it (labels known)."""
    values: dict[str, float] = {"amount": tx.amount}
    values["is_weekend"] = float(tx.timestamp.weekday() >= 5)
    values["is_night"] = float(tx.timestamp.hour <= 6)
    t = tx.event_time
    for spec in config.entities:
        key = tx.get(spec.key_field)
        own = [h for h, _ in history if h.get(spec.key_field) == key]
        if spec.kind == "ledger" and key is None:
            values.update(absent_expected(spec))
        elif spec.kind == "ledger":
            values.update(ledger_expected(spec, own, tx))
        if spec.kind == "ledger":
            continue
        for days in spec.windows_days:
            hi, lo = t - spec.lag_days * SECONDS_PER_DAY, t - (spec.lag_days + days) * 86_400
            term = [(h, f) for h, f in history if h.get(spec.key_field) == key]
            term = [(h, f) for h, f in term if lo < h.event_time <= hi]
            values[f"{spec.name}_nb_tx_{days}d"] = len(term)
            risk = sum(f for _, f in term) / len(term) if term else 0.0
            values[f"{spec.name}_risk_{days}d"] = risk
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
        expected = brute_force(config, history, tx)
        assert list(got) == list(engine.names)  # in definitions' order
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
    # Card-testing bursts: a few runs of events seconds apart.
    for _ in range(n // 50):
        i = rng.randrange(n - 6)
        for k in range(1, 5):
            times[i + k] = times[i] + 20 * k
    stream = []
    for i, t in enumerate(times):
        terminal = burst_terminal if burst_terminal and i % 2 else f"T{rng.randrange(6)}"
        amount = round(rng.uniform(0.5, 5.0), 2) if rng.random() < 0.2 else rng.uniform(1, 300)
        customer = rng.randrange(8)
        stream.append(
            (
                make_tx(
                    i,
                    t,
                    f"C{customer}",
                    terminal,
                    round(amount, 2),
                    country=rng.choice(COUNTRIES),
                    device_id=rng.choice(DEVICES),
                    card_id=f"card-{customer}-{rng.randrange(2)}" if rng.random() < 0.9 else None,
                ),
                int(rng.random() < 0.2),
            )
        )
    return stream


def test_features_equal_brute_force_over_sixty_days_with_late_events():
    replay(FeatureConfig(entities=(CUSTOMER, TERMINAL)), random_stream(seed=7, n=600, span_days=60))


def test_a_card_ledger_adds_its_features_and_they_are_exact_too():
    config = FeatureConfig(entities=(CUSTOMER, CARD, TERMINAL))
    names = [d.name for d in feature_definitions(config)]
    assert {"card_nb_tx_1d", "card_nb_terminals_1d", "card_nb_small_tx_10m"} <= set(names)

    replay(config, random_stream(seed=5, n=300, span_days=10))


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
    assert names[:15] == [
        "amount",
        "is_weekend",
        "is_night",
        *(f"customer_nb_tx_{d}d" for d in (1, 7, 30)),
        *(f"customer_avg_amount_{d}d" for d in (1, 7, 30)),
        *(f"terminal_nb_tx_{d}d" for d in (1, 7, 30)),
        *(f"terminal_risk_{d}d" for d in (1, 7, 30)),
    ]
    assert {
        "customer_amount_ratio_30d",
        "customer_amount_zscore_30d",
        "customer_seconds_since_prev_30d",
        "customer_nb_terminals_7d",
        "customer_nb_countries_1d",
        "customer_nb_devices_7d",
        "customer_nb_small_tx_10m",
    } <= set(names)
    assert len(names) == len(set(names))


def test_events_stored_before_an_attribute_existed_count_without_it():
    """A ledger row written when the entity kept fewer attributes is shorter: its missing
    values are absent, not an error, and the attributes it has still count."""
    engine = OnlineFeatures(FeatureConfig(entities=(CUSTOMER,)))
    t = START + 10 * SECONDS_PER_DAY
    older = {"e:00000000000000aa": [t - 3_600, 40.0, "T-old"]}  # terminal_id only
    tx = make_tx(1, t, "C1", "T-new", 60.0, country="FR", device_id="dev-a")

    values = engine.compute(tx, {"customer#C1": older})

    assert values["customer_nb_tx_1d"] == 2
    assert values["customer_avg_amount_1d"] == 50.0
    assert values["customer_nb_terminals_1d"] == 2
    assert values["customer_nb_countries_1d"] == 1
    assert values["customer_nb_devices_1d"] == 1


@pytest.mark.parametrize(
    "definition, message",
    [
        (
            FeatureDef(
                "terminal_nb_devices_7d", "distinct", WindowRef("terminal", 604_800), "device_id"
            ),
            "summable statistics only: .'terminal_nb_devices_7d'.",
        ),
        (FeatureDef("customer_median_7d", "median", WindowRef("customer", 604_800)), "unknown"),
    ],
)
def test_features_an_entity_cannot_serve_are_refused_when_the_engine_is_built(definition, message):
    with pytest.raises(UnknownStatisticError, match=message):
        OnlineFeatures(definitions=[definition])
