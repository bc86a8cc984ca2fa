"""The Handbook's protocol on tiny hand-computed examples: known frauds, CP@k, folds, order."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from fraudctl.evaluation.metrics import assess, card_precision_at_k, mean_metrics
from fraudctl.evaluation.protocol import (
    ProtocolError,
    Split,
    folds,
    held_out_mask,
    id_order_key,
    protocol_order,
    training_mask,
)

# Train on 01-01 and 01-02, one day of delay (01-03), test on 01-04 and 01-05.
SPLIT = Split(train_from=date(2024, 1, 1), train_days=2, delay_days=1, test_days=2)


def frame(rows: list[tuple[str, str, str, int]]) -> pd.DataFrame:
    """Rows of (transaction id, ISO timestamp, customer, is_fraud)."""
    ids, stamps, customers, labels = zip(*rows, strict=True)
    times = pd.to_datetime(list(stamps), utc=True)
    return pd.DataFrame(
        {
            "transaction_id": pd.array(ids, dtype="string"),
            "customer_id": pd.array(customers, dtype="string"),
            "event_time": (times - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, "s"),
            "is_fraud": np.array(labels, dtype=np.int8),
        }
    )


KNOWN_FRAUDS = frame(
    [
        ("1", "2023-12-31T10:00:00", "D", 1),  # before training: never counts as known
        ("2", "2024-01-02T10:00:00", "A", 1),  # training fraud: known on every test day
        ("3", "2024-01-03T10:00:00", "B", 1),  # delay-day fraud: known from 01-05 (01-03 + 2)
        ("4", "2024-01-04T10:00:00", "A", 0),
        ("5", "2024-01-04T11:00:00", "B", 0),
        ("6", "2024-01-04T12:00:00", "C", 1),  # test-day fraud: known only from 01-06
        ("7", "2024-01-04T13:00:00", "D", 0),
        ("8", "2024-01-05T10:00:00", "A", 0),
        ("9", "2024-01-05T11:00:00", "B", 1),
        ("10", "2024-01-05T12:00:00", "C", 1),
        ("11", "2024-01-05T13:00:00", "D", 0),
        ("12", "2024-01-06T10:00:00", "E", 0),  # after the test window
    ]
)


def test_test_days_drop_customers_with_a_fraud_known_by_then():
    kept = KNOWN_FRAUDS["transaction_id"][held_out_mask(KNOWN_FRAUDS, SPLIT)]

    # 01-04 knows frauds of 01-01..01-02 (A); 01-05 knows 01-01..01-03 (A and B).
    assert list(kept) == ["5", "6", "7", "10", "11"]


def test_training_window_is_its_days_only():
    kept = KNOWN_FRAUDS["transaction_id"][training_mask(KNOWN_FRAUDS, SPLIT)]

    assert list(kept) == ["2"]


def test_split_of_the_handbook_chapter_3():
    split = Split()

    assert (split.train_from, split.train_to) == (date(2018, 7, 25), date(2018, 8, 1))
    assert (split.test_from, split.test_to) == (date(2018, 8, 8), date(2018, 8, 15))


def test_folds_are_consecutive_weeks_ending_with_the_split_itself():
    tests = [(f.test_from, f.test_to) for f in folds(Split(), 4)]

    assert tests[0] == (date(2018, 8, 8), date(2018, 8, 15))
    assert all(later[0] == earlier[1] for earlier, later in zip(tests[1:], tests, strict=False))
    assert [f.train_days for f in folds(Split(), 4)] == [7, 7, 7, 7]


def test_bad_split_and_fold_settings_are_refused():
    with pytest.raises(ProtocolError):
        Split(train_days=0)
    with pytest.raises(ProtocolError):
        folds(Split(), 0)


# Card Precision@2 over two days. Day 1, customer maxima: c4 0.95 (a legit row, but also a
# fraud row: compromised), c1 0.9 (fraud), c2 0.8, c3 0.7 (fraud). Top 2 = c4, c1: both
# compromised, 2/2; both become detected. Day 2: c1 (0.99) and c4 are detected and dropped;
# c3 and c5 tie at 0.6 and rank by id (c3 first), c2 0.5. Top 2 = c3, c5: 1/2.
CP_ROWS = [
    (1, "c1", 1, 0.9),
    (1, "c1", 0, 0.1),
    (1, "c2", 0, 0.8),
    (1, "c3", 1, 0.7),
    (1, "c4", 0, 0.95),
    (1, "c4", 1, 0.2),
    (2, "c5", 0, 0.6),
    (2, "c1", 1, 0.99),
    (2, "c4", 0, 0.97),
    (2, "c3", 1, 0.6),
    (2, "c2", 0, 0.5),
]


def test_card_precision_drops_detected_customers_and_ranks_by_customer_maximum():
    days, customers, labels, scores = zip(*CP_ROWS, strict=True)

    value = card_precision_at_k(
        np.array(days), pd.Series(customers), np.array(labels), np.array(scores), k=2
    )

    assert value == pytest.approx((2 / 2 + 1 / 2) / 2)


def test_card_precision_counts_a_short_day_against_k():
    # One customer, compromised: 1 hit out of k = 100 slots.
    value = card_precision_at_k(np.array([1]), pd.Series(["c1"]), np.array([1]), np.array([0.5]))

    assert value == pytest.approx(0.01)


def test_assess_gives_auc_ap_and_card_precision():
    rows = frame(
        [
            ("1", "2024-01-04T10:00:00", "A", 1),
            ("2", "2024-01-04T11:00:00", "B", 0),
            ("3", "2024-01-04T12:00:00", "C", 0),
            ("4", "2024-01-04T13:00:00", "D", 1),
        ]
    )
    scores = np.array([0.9, 0.8, 0.1, 0.3])

    metrics = assess(rows, scores, np.zeros(4), k=2)

    # Positives rank 1st and 3rd: AUC 3/4; AP = (1/1 + 2/3) / 2; top 2 customers A, B: 1/2.
    assert metrics == pytest.approx(
        {"auc": 0.75, "average_precision": (1 + 2 / 3) / 2, "card_precision@2": 0.5}
    )
    assert mean_metrics([metrics, {k: 0.0 for k in metrics}])["auc"] == pytest.approx(0.375)


def test_ids_order_as_integers_when_all_are_and_as_text_otherwise():
    assert list(id_order_key(pd.Series(["10", "9", "100"]))) == [10, 9, 100]
    assert list(id_order_key(pd.Series(["b", "10", "9"]))) == ["b", "10", "9"]


def test_protocol_order_is_event_time_then_numeric_transaction_id():
    rows = frame(
        [
            ("10", "2024-01-01T10:00:00", "A", 0),
            ("9", "2024-01-01T10:00:00", "B", 0),
            ("8", "2024-01-01T11:00:00", "C", 0),
            ("11", "2024-01-01T09:00:00", "D", 0),
        ]
    )

    order = protocol_order(rows, np.ones(4, dtype=bool))

    assert list(rows["transaction_id"][order]) == ["11", "9", "10", "8"]
