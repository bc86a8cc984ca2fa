"""Velocity statistics: update/get against independent formulas, and state round trips."""

from __future__ import annotations

import itertools
import random
import statistics as reference

import pytest

from chalicelib.features.statistics import (
    AMOUNT_STD_FLOOR,
    STATISTICS,
    Event,
    Totals,
    UnknownStatisticError,
    create,
    restore,
)
from chalicelib.state.dynamodb import from_dynamo, to_dynamo

ARGUMENTS = {"distinct": "country", "small_count": 5.0, "since_previous": None}
HORIZON = 3_600


def events(seed: int, n: int) -> list[Event]:
    rng = random.Random(seed)
    times = sorted(rng.randrange(10_000) for _ in range(n))
    return [
        Event(
            t,
            round(rng.choice([rng.uniform(0.5, 5), rng.uniform(5, 900)]), 2),
            float(rng.random() < 0.3),
            {"country": rng.choice(["FR", "BE", None])},
        )
        for t in times
    ]


def fed(name: str, stream: list[Event]):
    statistic = create(name, ARGUMENTS.get(name), HORIZON)
    for event in stream:
        statistic.update(event)
    return statistic


@pytest.mark.parametrize("name", sorted(STATISTICS))
def test_every_statistic_round_trips_through_a_dynamodb_item_and_keeps_counting(name):
    stream = events(seed=len(name), n=40)
    original = fed(name, stream[:25])

    item = {key: from_dynamo(to_dynamo(value)) for key, value in original.to_item().items()}
    restored = restore(name, ARGUMENTS.get(name), item, HORIZON)

    assert restored.get() == pytest.approx(original.get(), rel=1e-15)
    for event in stream[25:]:
        original.update(event)
        restored.update(event)
    assert restored.get() == pytest.approx(fed(name, stream).get(), rel=1e-12)


@pytest.mark.parametrize("name", sorted(STATISTICS))
def test_update_many_equals_updates_one_at_a_time_in_any_chunks(name):
    """The online engine feeds a window's events at once: same state as one by one."""
    stream = events(seed=7, n=30)
    for chunks in ([0, 30], [0, 1, 30], [0, 12, 13, 30], [0, 0, 29, 30]):
        statistic = create(name, ARGUMENTS.get(name), HORIZON)
        for start, stop in itertools.pairwise(chunks):
            statistic.update_many(stream[start:stop])
        one_by_one = fed(name, stream)
        # Summable statistics add a chunk's sum at once: equal up to rounding.
        for key, value in one_by_one.to_item().items():
            expected = pytest.approx(value, rel=1e-12) if isinstance(value, float) else value
            assert statistic.to_item()[key] == expected, (chunks, key)
        assert statistic.get() == pytest.approx(one_by_one.get(), rel=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_statistics_equal_independent_formulas(seed):
    stream = events(seed, n=1 + seed * 3)
    amounts = [e.amount for e in stream]
    earlier, last = amounts[:-1], amounts[-1]

    assert fed("count", stream).get() == len(stream)
    assert fed("mean_amount", stream).get() == pytest.approx(reference.mean(amounts))
    assert fed("fraud_rate", stream).get() == pytest.approx(
        sum(e.fraud for e in stream) / len(stream)
    )
    assert fed("small_count", stream).get() == sum(a <= 5.0 for a in amounts)
    assert fed("distinct", stream).get() == len({e.attributes["country"] for e in stream} - {None})
    ratio = last / reference.mean(earlier) if earlier else 1.0
    assert fed("amount_ratio", stream).get() == pytest.approx(ratio, rel=1e-12)
    z = (
        (last - reference.mean(earlier)) / max(reference.pstdev(earlier), AMOUNT_STD_FLOOR)
        if len(earlier) >= 2
        else 0.0
    )
    assert fed("amount_zscore", stream).get() == pytest.approx(z, rel=1e-9, abs=1e-12)
    gap = stream[-1].event_time - stream[-2].event_time if len(stream) > 1 else HORIZON
    assert fed("since_previous", stream).get() == gap


@pytest.mark.parametrize("name", ["count", "mean_amount", "fraud_rate"])
def test_a_summable_statistic_values_a_window_s_totals_as_a_fresh_one_fed_them(name):
    # Given a summable statistic fed a stream, and the stream's totals
    stream = events(seed=11, n=25)
    statistic = fed(name, stream)
    totals = Totals(len(stream), sum(e.amount for e in stream), sum(e.fraud for e in stream))
    fresh = create(name)
    fresh.add_totals(totals)
    # When its value is taken from the totals alone (the online engine's way)
    value = type(statistic).value_of(totals)
    # Then it is the fed statistic's value, and that of a fresh one given the totals
    assert value == pytest.approx(statistic.get(), rel=1e-12)
    assert value == fresh.get()
    assert type(statistic).value_of(Totals()) == create(name).get() == 0.0


def test_empty_statistics_have_documented_values():
    values = {name: fed(name, []).get() for name in STATISTICS}

    assert values == {
        "count": 0.0,
        "mean_amount": 0.0,
        "fraud_rate": 0.0,
        "small_count": 0.0,
        "distinct": 0.0,
        "amount_ratio": 1.0,
        "amount_zscore": 0.0,
        "since_previous": float(HORIZON),
    }


def test_unknown_statistic_is_a_specific_error():
    with pytest.raises(UnknownStatisticError, match="median"):
        create("median")
