"""``fraudctl rules backtest``: figures equal an independent computation on the same file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chalicelib.model.artifact import load_directory
from fraudctl.cli import main
from fraudctl.data import read_transactions
from fraudctl.errors import CommandError
from fraudctl.offline.backtest import run_backtest
from fraudctl.offline.features import compute_features
from fraudctl.simulate import FraudRates, SimulationConfig, simulate, write_csv
from tests.conftest import DEFAULT_MODEL

CONFIG = SimulationConfig(customers=80, days=15, seed=9, rates=FraudRates(high_amount=2e-2))
CURRENT = [
    {"rule_id": "mid", "expression": "amount > 150", "action": "review"},
    {"rule_id": "vip", "expression": "customer_id in @vip", "action": "allow"},
    {"rule_id": "night", "expression": "hour(timestamp) < 5", "action": "block", "mode": "shadow"},
    {"rule_id": "off", "expression": "amount > 1", "action": "block", "mode": "disabled"},
    {"rule_id": "gone", "expression": "customer.nb_distinct_device_1d > 2", "action": "review"},
]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    path = tmp_path_factory.mktemp("backtest") / "sim.csv"
    frame = simulate(CONFIG)
    write_csv(frame, path)
    return path, pd.read_csv(path)


def expected(mask: pd.Series, frame: pd.DataFrame) -> dict:
    fraud = frame["is_fraud"] == 1
    hits = int(mask.sum())
    return {
        "hits": hits,
        "precision": (mask & fraud).sum() / hits if hits else None,
        "recall": (mask & fraud).sum() / fraud.sum(),
        "amount": round(frame.loc[mask, "amount"].sum(), 2),
        "fraud_amount": round(frame.loc[mask & fraud, "amount"].sum(), 2),
    }


def measured(stats) -> dict:
    return {k: getattr(stats, k) for k in ("hits", "precision", "recall", "amount", "fraud_amount")}


def test_candidate_current_rules_and_combination_match_pandas(data, tmp_path):
    path, frame = data
    vip = sorted(frame["customer_id"].unique())[:10]

    report = run_backtest(
        "amount > 300 and channel == 'ecom'",
        "block",
        path,
        ("test", CURRENT),
        lists={"vip": set(vip)},
    )

    candidate = (frame["amount"] > 300) & (frame["channel"] == "ecom")
    mid = frame["amount"] > 150
    allowed = frame["customer_id"].isin(vip)
    assert measured(report.candidate) == pytest.approx(expected(candidate, frame))
    by_id = {r.name: r for r in report.rules}
    assert set(by_id) == {"mid", "vip", "night"} and set(report.refused) == {"gone"}
    assert measured(by_id["mid"]) == pytest.approx(expected(mid, frame))
    assert by_id["vip"].hits == allowed.sum()
    assert measured(report.current) == pytest.approx(expected(mid & ~allowed, frame))
    assert measured(report.combined) == pytest.approx(expected((mid | candidate) & ~allowed, frame))
    added = candidate & ~mid & ~allowed
    assert report.new_frauds == (added & (frame["is_fraud"] == 1)).sum()
    assert report.new_false_positives == (added & (frame["is_fraud"] == 0)).sum()
    assert report.candidate.hits > 0 and report.candidate.precision is not None


def test_score_expressions_use_the_default_model_on_offline_features(data):
    path = data[0]
    model = load_directory(DEFAULT_MODEL)
    features = compute_features(read_transactions(path))
    scores = model.scorer.score(features[list(model.feature_names)].to_numpy(np.float64)).scores

    report = run_backtest("risk_score >= 20", "review", path, ("none", []))

    assert report.candidate.hits == int((np.round(scores * 100) >= 20).sum())


def test_invalid_candidate_names_the_position(data):
    with pytest.raises(CommandError, match="position 9"):
        run_backtest("amount > 'x'", "review", data[0], ("none", []))


def test_command_prints_a_table_or_json(data, tmp_path, capsys):
    pack = tmp_path / "pack.json"
    pack.write_text(json.dumps({"rules": CURRENT[:1]}))

    argv = ["rules", "backtest", "--expr", "amount > 300", "--data", str(data[0])]
    code = main([*argv, "--rules", str(pack)])
    table = capsys.readouterr().out
    main([*argv, "--rules", str(pack), "--json"])
    report = json.loads(capsys.readouterr().out)

    assert code == 0
    assert "candidate" in table and "current + candidate" in table and "mid" in table
    assert report["candidate"]["hits"] == int((data[1]["amount"] > 300).sum())
