"""``fraudctl replay`` through the API gives the numbers of ``fraudctl score``."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from fraudctl.cli import main
from fraudctl.data import read_transactions
from fraudctl.offline.http_target import ApiTarget
from fraudctl.offline.replay import refusals_path, replay, write_refusals, write_scores
from fraudctl.simulate import FraudRates, SimulationConfig, simulate, write_csv
from tests.conftest import DEFAULT_MODEL, post_json

START, END = "2025-01-08", "2025-01-11"


def chalice_transport(client: Any):
    def transport(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        response = post_json(client, path, json.dumps(body, default=float))
        return response.status_code, json.loads(response.body)

    return transport


def small_file(tmp_path: Path) -> Path:
    rates = FraudRates(compromised_terminal=5e-3, account_takeover=5e-3)
    frame = simulate(SimulationConfig(customers=6, days=10, seed=9, rates=rates))
    frame.loc[frame.index[20], "amount"] = 0.0  # history row the API refuses
    frame.loc[frame.index[-5], "amount"] = 0.0  # and one in the scored range
    path = tmp_path / "transactions.csv"
    write_csv(frame, path)
    return path


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_replay_through_the_api_equals_fraudctl_score_and_both_report_refused_rows(api, tmp_path):
    data = small_file(tmp_path)
    offline = tmp_path / "offline.csv"
    online = tmp_path / "online.csv"

    arguments = ["--model", str(DEFAULT_MODEL), "--data", str(data), "--out", str(offline)]
    code = main(["score", *arguments, "--from", START, "--to", END])
    result = replay(read_transactions(data), ApiTarget(chalice_transport(api)), START, END)
    write_scores(result.scored, online)
    write_refusals(result.refused, refusals_path(online))

    assert code == 0
    scored = rows(offline)
    assert len(scored) > 10 and {r["decision"] for r in scored} <= {"allow", "review", "block"}
    assert rows(online) == scored
    assert result.labels_sent > 10
    refused = rows(refusals_path(offline))
    assert [r["transaction_id"] for r in refused] == [r.transaction_id for r in result.refused]
    assert len(refused) == 2 and all("amount" in r["reason"] for r in refused)
    assert result.refused_in_range == 1
