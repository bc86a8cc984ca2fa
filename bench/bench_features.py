"""Benchmark of the offline feature engine (``fraudctl features``) on the Handbook file.

Run from the repository root::

    .venv/bin/python -m bench.bench_features [--data PATH] [--baseline-rows N] [--json]

Prints the throughput of ``fraudctl features`` end to end (read, compute, write; CSV and
gzipped CSV), of the computation alone, and of two baselines measured in the same run: a
straightforward pandas-rolling implementation like the Handbook's (per-entity
``rolling`` windows; on the first ``--baseline-rows`` rows) and the online engine
replaying rows one by one against the in-memory store. Target: 200,000 transactions per
second end to end. With ``--json`` it also prints ``{"name", "value", "unit", "baseline",
"ratio"}`` records (the baseline is the pandas-rolling throughput).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from bench.records import Figure, Floor, figure
from chalicelib.features.online import OnlineFeatures
from chalicelib.state.memory import MemoryStore
from chalicelib.state.store import Commit
from chalicelib.transaction import Transaction
from fraudctl.data import read_transactions
from fraudctl.offline.features import compute_features, write_frame

TARGET_PER_SECOND = 200_000
TARGET = Floor(TARGET_PER_SECOND, better="higher")
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared/data/handbook"
FALLBACK_DATA = Path("/work/shared/data/handbook")
HANDBOOK_FILE = "transactions.csv.gz"
WINDOWS = (1, 7, 30)
DELAY_DAYS = 7


def _customer_windows(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.set_index("timestamp")
    out = {}
    for days in WINDOWS:
        window = rows["amount"].rolling(f"{days}D")
        count = window.count()
        out[f"customer_nb_tx_{days}d"] = count.to_numpy()
        out[f"customer_avg_amount_{days}d"] = (window.sum() / count).to_numpy()
    return pd.DataFrame(out, index=rows["transaction_id"])


def _terminal_windows(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.set_index("timestamp")
    delayed = rows["is_fraud"].rolling(f"{DELAY_DAYS}D")
    delayed_count, delayed_fraud = delayed.count(), delayed.sum()
    out = {}
    for days in WINDOWS:
        window = rows["is_fraud"].rolling(f"{DELAY_DAYS + days}D")
        count = window.count() - delayed_count
        out[f"terminal_nb_tx_{days}d"] = count.to_numpy()
        out[f"terminal_risk_{days}d"] = ((window.sum() - delayed_fraud) / count).fillna(0)
    return pd.DataFrame(out, index=rows["transaction_id"])


def handbook_rolling(frame: pd.DataFrame) -> pd.DataFrame:
    """The Handbook's way: ``groupby(entity).apply`` of pandas ``rolling`` windows."""
    columns = ["transaction_id", "timestamp", "amount", "is_fraud"]
    customers = frame.groupby("customer_id")[columns].apply(_customer_windows)
    terminals = frame.groupby("terminal_id")[columns].apply(_terminal_windows)
    return customers.droplevel(0).join(terminals.droplevel(0))


def online_replay(frame: pd.DataFrame) -> None:
    """The online engine on ``frame``'s rows, one fetch, compute and commit each."""
    engine = OnlineFeatures()
    store = MemoryStore()
    for row in frame.itertuples(index=False):
        tx = Transaction(
            transaction_id=str(row.transaction_id),
            timestamp=row.timestamp.to_pydatetime(),
            event_time=int(row.event_time),
            amount=float(row.amount),
            currency="EUR",
            customer_id=str(row.customer_id),
            terminal_id=str(row.terminal_id),
        )
        items = store.fetch(state_keys=engine.read_keys(tx)).items
        engine.compute(tx, items)
        recorded = engine.record(tx, items, int(row.is_fraud))
        store.commit([Commit(tx.transaction_id, {}, recorded.updates)])


def _timed(action: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def handbook_path() -> Path:
    """The Handbook's ``transactions.csv.gz`` beside the repository, else in /work/shared."""
    default = DEFAULT_DATA if (DEFAULT_DATA / HANDBOOK_FILE).is_file() else FALLBACK_DATA
    return default / HANDBOOK_FILE


def measure(data: Path, baseline_rows: int, online_rows: int) -> dict[str, float]:
    """Throughputs in transactions per second."""
    with tempfile.TemporaryDirectory() as scratch:
        out_csv, out_gz = Path(scratch) / "f.csv", Path(scratch) / "f.csv.gz"
        frame, read_seconds = _timed(lambda: read_transactions(data))
        features, compute_seconds = _timed(lambda: compute_features(frame))
        _, write_seconds = _timed(lambda: write_frame(features, out_csv))
        _, gzip_seconds = _timed(lambda: write_frame(features, out_gz))
        rows = len(frame)
        figures = {
            "rows": rows,
            "features": features.shape[1] - 1,
            "read_s": read_seconds,
            "compute_s": compute_seconds,
            "write_csv_s": write_seconds,
            "write_gzip_s": gzip_seconds,
            "end_to_end_csv": rows / (read_seconds + compute_seconds + write_seconds),
            "end_to_end_gzip": rows / (read_seconds + compute_seconds + gzip_seconds),
            "compute_only": rows / compute_seconds,
        }
    subset = frame.iloc[:baseline_rows]
    _, baseline_seconds = _timed(lambda: handbook_rolling(subset))
    figures["pandas_rolling"] = len(subset) / baseline_seconds
    replayed = frame.iloc[:online_rows]
    _, online_seconds = _timed(lambda: online_replay(replayed))
    figures["online_replay"] = len(replayed) / online_seconds
    return figures


def figures(
    data: Path | None = None, baseline_rows: int = 100_000, online_rows: int = 20_000
) -> list[Figure]:
    """The figures of ``results.json``: throughputs against the pandas-rolling baseline."""
    return records(measure(data or handbook_path(), baseline_rows, online_rows))


def records(f: dict[str, float]) -> list[Figure]:
    """``measure``'s throughputs as ``results.json`` records."""
    baseline = f["pandas_rolling"]
    return [
        figure("features_end_to_end_csv", f["end_to_end_csv"], "tx/s", baseline, TARGET),
        figure("features_end_to_end_gzip", f["end_to_end_gzip"], "tx/s", baseline, TARGET),
        figure("features_compute_only", f["compute_only"], "tx/s", baseline, better="higher"),
        figure("features_online_replay", f["online_replay"], "tx/s", baseline, better="higher"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=handbook_path())
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    parser.add_argument("--online-rows", type=int, default=20_000)
    parser.add_argument("--json", action="store_true", help="also print JSON records")
    args = parser.parse_args()
    f = measure(args.data, args.baseline_rows, args.online_rows)
    print(f"{f['rows']:,} transactions, {f['features']} features ({args.data.name})")
    print(
        f"read {f['read_s']:.2f} s, compute {f['compute_s']:.2f} s, "
        f"write CSV {f['write_csv_s']:.2f} s, write gzip {f['write_gzip_s']:.2f} s"
    )
    print(
        f"end to end: {f['end_to_end_csv']:,.0f} tx/s (CSV), {f['end_to_end_gzip']:,.0f} tx/s "
        f"(gzip); compute only {f['compute_only']:,.0f} tx/s; target {TARGET_PER_SECOND:,}"
    )
    print(
        f"baselines: pandas rolling (Handbook style, 15 features) {f['pandas_rolling']:,.0f} "
        f"tx/s; online engine replay (MemoryStore) {f['online_replay']:,.0f} tx/s"
    )
    if args.json:
        print(json.dumps(records(f)))


if __name__ == "__main__":
    main()
