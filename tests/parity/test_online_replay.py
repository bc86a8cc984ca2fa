"""The online path (scoring service, DynamoDB store on moto, labels as feedback a week
later) gives every transaction the features the offline engine computes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from chalicelib import runtime
from chalicelib.features.spec import SECONDS_PER_DAY
from fraudctl.data import read_transactions
from fraudctl.offline.features import compute_features
from fraudctl.offline.replay import Outcome, ServiceTarget, replay
from fraudctl.simulate import FraudRates, SimulationConfig, simulate, write_csv
from tests.conftest import scan
from tests.moto_speed import fast_moto

TOLERANCE = 1e-9
RATES = FraudRates(compromised_terminal=2e-3, card_testing=4e-3)


class ApiAndQueueTarget(ServiceTarget):
    """The service as the API calls it (one transaction per call) on one day in seven, as
    the queue handler does (batches of up to ten) on the others.

    Fraud labels go to ``ScoringService.feedback``; a not-fraud label on an unlabelled
    transaction changes no count (tested on its own), so those are only counted here:
    moto needs tens of milliseconds per written item.
    """

    def __init__(self, service: Any) -> None:
        super().__init__(service)
        self.negative_labels = 0

    def score(self, payloads: Sequence[dict[str, Any]]) -> list[Outcome]:
        if int(payloads[0]["timestamp"][8:10]) % 7:
            return super().score(payloads)
        return [outcome for payload in payloads for outcome in super().score([payload])]

    def feedback(self, transaction_id: str, is_fraud: bool) -> None:
        if is_fraud:
            super().feedback(transaction_id, is_fraud)
        else:
            self.negative_labels += 1


def least_active_customers(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """All transactions of the least active customers, about ``rows`` of them (small
    ledgers keep moto fast; every customer keeps its whole history)."""
    counts = frame["customer_id"].value_counts(ascending=True)
    keep = counts.index[counts.cumsum() <= rows]
    return frame[frame["customer_id"].isin(keep)].reset_index(drop=True)


def test_online_features_on_dynamodb_equal_offline_features_over_42_days(
    published_model, tmp_path, monkeypatch
):
    fast_moto(monkeypatch)
    path = tmp_path / "transactions.csv"
    simulated = simulate(SimulationConfig(customers=900, days=42, seed=3, rates=RATES))
    write_csv(least_active_customers(simulated, 5_200), path)
    frame = read_transactions(path)
    times = frame["event_time"].to_numpy()
    assert len(frame) >= 5_000 and times[-1] - times[0] >= 40 * SECONDS_PER_DAY
    rt = runtime.current()

    target = ApiAndQueueTarget(rt.service)

    result = replay(frame, target, label_delay_days=7)

    assert not result.refused and result.labels_sent > 3_500
    assert result.labels_sent - target.negative_labels > 50  # fraud labels fed back
    assert rt.store.calls["batch_get_item"] < len(frame)  # some days went in batches
    stored = {r["transaction_id"]: r["features"] for r in scan(rt.settings.decisions_table)}
    offline = compute_features(frame)
    assert len(stored) == len(frame)
    names = [c for c in offline.columns if c != "transaction_id"]
    online = np.array(
        [[stored[t][n] for n in names] for t in offline["transaction_id"]], dtype=np.float64
    )
    expected = offline[names].to_numpy(np.float64)
    close = np.isclose(online, expected, rtol=TOLERANCE, atol=TOLERANCE)
    worst = {
        names[j]: int((~close[:, j]).sum()) for j in range(len(names)) if not close[:, j].all()
    }
    assert not worst, worst
    assert expected[:, names.index("terminal_risk_30d")].max() > 0  # labels did arrive
    assert expected[:, names.index("customer_nb_small_tx_10m")].max() >= 3  # card testing
