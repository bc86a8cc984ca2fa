"""The transaction simulator (``fraudctl.simulate``) and ``fraudctl simulate``."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import ipaddress
import re
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from chalicelib.transaction import (
    TRANSACTION_ID_PATTERN,
    looks_like_card_number,
    parse_transaction,
)
from fraudctl.cli import main
from fraudctl.simulate import (
    COLUMNS,
    SCENARIOS,
    FraudRates,
    SimulationConfig,
    SimulationConfigError,
    simulate,
    write_csv,
)

# Every pattern five times more frequent than by default: enough incidents in a small world.
BOOSTED = FraudRates(**{name: 5 * getattr(FraudRates(), name) for name in SCENARIOS})
SMALL = SimulationConfig(customers=400, days=60, seed=11, rates=BOOSTED)
TINY = SimulationConfig(customers=120, days=15, seed=3)
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
AMOUNT = re.compile(r"\d+\.\d{2}")
LABELS = ("is_fraud", "fraud_scenario")
# What the patterns promise (docs/simulator.md), independent of the module's constants.
PROBE_AMOUNT = (0.5, 5.0)
LARGE_PURCHASE = 150.0
HIGH_RISK_CATEGORIES = ("7995", "4829", "6051")


def _read(path: Path) -> pd.DataFrame:
    """The CSV as strings, empty cells as "" (what a contract reader sees)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["amount"] = frame["amount"].astype(float)
    frame["time"] = pd.to_datetime(frame["timestamp"])
    return frame


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("simulate") / "small.csv"
    write_csv(simulate(SMALL), path)
    return path


@pytest.fixture(scope="module")
def small(small_csv: Path) -> pd.DataFrame:
    return _read(small_csv)


@pytest.fixture(scope="module")
def legit(small: pd.DataFrame) -> pd.DataFrame:
    return small[small["is_fraud"] == "0"]


def _scenario(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    rows = frame[frame["fraud_scenario"] == name]
    assert len(rows) > 0, f"no {name} rows"
    return rows


# ------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("name", ["a.csv", "a.csv.gz"])
def test_same_configuration_writes_identical_bytes(tmp_path: Path, name: str) -> None:
    first, second = tmp_path / "1" / name, tmp_path / "2" / name
    for path in (first, second):
        path.parent.mkdir()
        write_csv(simulate(TINY), path)
    assert first.read_bytes() == second.read_bytes()


def test_different_seeds_give_different_transactions() -> None:
    one = simulate(TINY).drop(columns="transaction_id")
    other = simulate(dataclasses.replace(TINY, seed=4)).drop(columns="transaction_id")
    assert not one.equals(other)


def test_changing_one_rate_leaves_everything_else_unchanged() -> None:
    without = dataclasses.replace(SMALL, rates=dataclasses.replace(BOOSTED, card_testing=0.0))
    base, changed = simulate(SMALL), simulate(without)
    assert "card_testing" not in set(changed["fraud_scenario"].dropna())
    kept = base[base["fraud_scenario"] != "card_testing"].drop(columns="transaction_id")
    assert kept.to_csv(index=False) == changed.drop(columns="transaction_id").to_csv(index=False)


# ----------------------------------------------------------------------------- contract


def test_columns_follow_the_documented_order(small_csv: Path) -> None:
    with small_csv.open() as handle:
        assert tuple(next(csv.reader(handle))) == COLUMNS


def test_every_row_passes_the_transaction_contract(small_csv: Path) -> None:
    with small_csv.open(newline="") as handle:
        for row in csv.DictReader(handle):
            assert TIMESTAMP.fullmatch(row["timestamp"]) and AMOUNT.fullmatch(row["amount"])
            payload = {k: v for k, v in row.items() if v != "" and k not in LABELS}
            payload["amount"] = float(payload["amount"])
            tx = parse_transaction(payload, default_currency="EUR")
            assert tx.amount > 0 and tx.currency == "EUR"


def test_no_value_looks_like_a_card_number(small_csv: Path) -> None:
    with small_csv.open() as handle:
        suspicious = [line for line in handle if looks_like_card_number(line)]
    assert suspicious == []


def test_identifiers_are_unique_tokens(small: pd.DataFrame) -> None:
    ids = small["transaction_id"]
    assert ids.is_unique and all(TRANSACTION_ID_PATTERN.fullmatch(i) for i in ids)
    assert small["card_id"].str.fullmatch(r"card_\d{5}_[12]").all()
    assert (small["card_id"].str.slice(5, 10) == small["customer_id"].str.slice(5)).all()
    present = small["device_id"][small["device_id"] != ""]
    assert present.str.fullmatch(r"dev_[0-9a-f]{10}").all()


def test_rows_are_sorted_in_time_within_the_simulated_days(small: pd.DataFrame) -> None:
    assert small["time"].is_monotonic_increasing
    assert small["time"].min() >= datetime(2025, 1, 1)
    assert small["time"].max() < datetime(2025, 3, 2)


def test_start_date_and_currency_are_honoured() -> None:
    config = dataclasses.replace(TINY, start_date=date(2024, 2, 28), currency="USD")
    frame = simulate(config)
    assert frame["timestamp"].str.startswith(("2024-02-28", "2024-02-29", "2024-03")).all()
    assert set(frame["currency"]) == {"USD"}


def test_labels_and_scenarios_agree(small: pd.DataFrame) -> None:
    fraud = small["is_fraud"] == "1"
    assert set(small["is_fraud"]) == {"0", "1"}
    assert (small.loc[~fraud, "fraud_scenario"] == "").all()
    assert set(small.loc[fraud, "fraud_scenario"]) == set(SCENARIOS)


def test_card_present_rows_carry_no_device_ip_or_email(small: pd.DataFrame) -> None:
    card_present = small[small["channel"] != "ecom"]
    assert (card_present[["device_id", "ip_address", "email"]] == "").all().all()
    online = small[small["channel"] == "ecom"]
    assert (online["device_id"] != "").mean() > 0.9
    assert online.loc[online["email"] != "", "email"].str.endswith("@example.com").all()
    ips = online.loc[online["ip_address"] != "", "ip_address"]
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.0.0.0/8") for ip in ips)


# ----------------------------------------------------------------------- fraud patterns


def test_default_rates_give_about_one_percent_fraud_from_every_pattern() -> None:
    frame = simulate(SimulationConfig(customers=1_500, days=60, seed=2))
    assert 0.005 <= frame["is_fraud"].mean() <= 0.015
    shares = frame["fraud_scenario"].value_counts(normalize=True)
    assert set(shares.index) == set(SCENARIOS)
    assert shares.between(0.03, 0.40).all(), shares


def test_card_testing_is_bursts_of_small_amounts_minutes_apart_on_one_card(
    small: pd.DataFrame,
) -> None:
    rows = _scenario(small, "card_testing")
    low, high = PROBE_AMOUNT
    assert (rows["channel"] == "ecom").all()
    for _, burst in rows.groupby("device_id"):  # each burst comes from its own device
        probes = burst[burst["amount"] <= high]
        assert len(probes) >= 3 and probes["amount"].min() >= low
        assert probes["card_id"].nunique() == 1 and probes["terminal_id"].nunique() == 1
        assert probes["time"].diff().max() < pd.Timedelta(minutes=15)
        cash_out = burst[burst["amount"] > high]
        assert len(cash_out) <= 1
        if len(cash_out):
            assert cash_out["amount"].iloc[0] >= LARGE_PURCHASE
            assert cash_out["time"].iloc[0] - probes["time"].max() <= pd.Timedelta(hours=1)


def test_account_takeover_uses_a_new_device_from_another_country_above_habit(
    small: pd.DataFrame, legit: pd.DataFrame
) -> None:
    rows = _scenario(small, "account_takeover")
    assert (rows["channel"] == "ecom").all()
    online = legit[legit["channel"] == "ecom"]
    home = online.groupby("customer_id")["country"].agg(lambda c: c.mode().iloc[0])
    habit = legit.groupby("customer_id")["amount"].mean()
    for _, tx in rows.iterrows():
        earlier = small[(small["customer_id"] == tx["customer_id"]) & (small["time"] < tx["time"])]
        own = earlier[earlier["fraud_scenario"] != "account_takeover"]
        assert tx["device_id"] not in set(own["device_id"])
        if tx["customer_id"] in home.index:
            assert tx["country"] != home[tx["customer_id"]]
    ratio = rows["amount"].to_numpy() / habit[rows["customer_id"]].to_numpy()
    assert (ratio > 2).mean() > 0.9


def test_compromised_terminal_frauds_concentrate_on_few_terminals_for_28_days(
    small: pd.DataFrame,
) -> None:
    rows = _scenario(small, "compromised_terminal")
    per_terminal = rows.groupby("terminal_id")["time"]
    assert per_terminal.ngroups <= len(rows) / 3
    assert (per_terminal.max() - per_terminal.min()).max() < pd.Timedelta(days=28)
    assert set(rows["channel"]) == {"pos"}
    spans = per_terminal.agg(["min", "max"])
    at_victims = small.join(spans, on="terminal_id", how="inner")
    in_window = at_victims["time"].between(at_victims["min"], at_victims["max"])
    assert 0.3 < len(rows) / in_window.sum() < 0.7  # a share, not all, of their payments


def test_compromised_customer_multiplies_amounts_within_14_days(
    small: pd.DataFrame, legit: pd.DataFrame
) -> None:
    rows = _scenario(small, "compromised_customer")
    per_customer = rows.groupby("customer_id")["time"]
    assert (per_customer.max() - per_customer.min()).max() < pd.Timedelta(days=14)
    habit = legit.groupby("customer_id")["amount"].median()
    ratio = rows["amount"].to_numpy() / habit[rows["customer_id"]].to_numpy()
    assert pd.Series(ratio).median() > 3


def test_high_amount_frauds_exceed_the_threshold(small: pd.DataFrame, legit: pd.DataFrame) -> None:
    rows = _scenario(small, "high_amount")
    threshold = SMALL.high_amount_threshold
    assert rows["amount"].between(threshold, 6 * threshold, inclusive="right").all()
    assert (legit["amount"] > threshold).any()  # the rule alone is not enough


def test_night_bursts_hit_high_risk_merchants_before_dawn(small: pd.DataFrame) -> None:
    rows = _scenario(small, "night_high_risk_burst")
    assert (rows["time"].dt.hour < 6).all()
    assert rows["merchant_category"].isin(HIGH_RISK_CATEGORIES).all()
    assert rows.groupby("card_id").size().min() >= 3


def test_bust_out_ends_a_young_account_with_large_purchases(small: pd.DataFrame) -> None:
    rows = _scenario(small, "bust_out")
    assert (rows["amount"] >= LARGE_PURCHASE).all()
    for customer, bust in rows.groupby("customer_id"):
        history = small[small["customer_id"] == customer]
        before = history[history["is_fraud"] == "0"]
        assert len(before) > 0 and before["time"].max() < bust["time"].min()
        assert bust["time"].min() - history["time"].min() < pd.Timedelta(days=42)
        assert bust["device_id"].isin(set(before["device_id"]) | {""}).all()


def test_legitimate_traffic_overlaps_every_fraud_signal(legit: pd.DataFrame) -> None:
    online = legit[legit["channel"] == "ecom"]
    signals = {
        "small web payment": online["amount"] <= PROBE_AMOUNT[1],
        "above 220": legit["amount"] > SMALL.high_amount_threshold,
        "at night": legit["time"].dt.hour < 6,
        "high-risk merchant": legit["merchant_category"].isin(HIGH_RISK_CATEGORIES),
        "abroad": ~legit["country"].isin(["FR", "BE", "DE"]),
    }
    assert {name: int(mask.sum()) for name, mask in signals.items() if mask.sum() < 20} == {}
    devices = online[online["device_id"] != ""].groupby("customer_id")["device_id"].nunique()
    assert (devices > 1).mean() > 0.1


# ----------------------------------------------------------------- configuration, CLI


@pytest.mark.parametrize(
    "change",
    [
        {"customers": 0},
        {"days": 0},
        {"seed": -1},
        {"terminals": 5},
        {"currency": "EURO"},
        {"high_amount_threshold": 0.0},
        {"rates": FraudRates(card_testing=-0.1)},
        {"rates": FraudRates(bust_out=float("nan"))},
    ],
)
def test_invalid_configuration_is_rejected(change: dict[str, object]) -> None:
    with pytest.raises(SimulationConfigError):
        SimulationConfig(**change)  # type: ignore[arg-type]


def test_cli_writes_readable_csv_and_gzip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--customers", "60", "--days", "7", "--seed", "9", "--start-date", "2025-03-01"]
    plain, packed = tmp_path / "sim.csv", tmp_path / "sim.csv.gz"
    assert main(["simulate", "--out", str(plain), *args]) == 0
    assert main(["simulate", "--out", str(packed), *args]) == 0
    frame = _read(plain)
    assert tuple(frame.columns[:-1]) == COLUMNS and len(frame) > 100
    assert frame["timestamp"].str.startswith("2025-03").all()
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    summary = capsys.readouterr().out.splitlines()[0]
    assert summary.startswith(f"{plain}: {len(frame)} rows,") and "card_testing" in summary


def test_cli_reports_a_bad_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--out", str(tmp_path / "x.csv"), "--customers", "0"]) == 2
    assert "customers must be" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
