"""Transaction files: the contract's CSV columns (gzipped or not) as a pandas frame.

The Fraud Detection Handbook's column names (``TX_DATETIME``, ``TX_AMOUNT``...) are
recognised and renamed, so its public benchmark files can be used as they are.
Rows come back in *replay order*: by event time, ties in file order. Replaying the file
online in that order gives the same features as the offline computation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from chalicelib.transaction import LABEL_FIELD, OPTIONAL_STRING_FIELDS

HANDBOOK_COLUMNS = {
    "TRANSACTION_ID": "transaction_id",
    "TX_DATETIME": "timestamp",
    "CUSTOMER_ID": "customer_id",
    "TERMINAL_ID": "terminal_id",
    "TX_AMOUNT": "amount",
    "TX_FRAUD": LABEL_FIELD,
    "TX_FRAUD_SCENARIO": "fraud_scenario",
}
REQUIRED_COLUMNS = ("transaction_id", "timestamp", "amount", "customer_id", "terminal_id")
STRING_COLUMNS = (
    "transaction_id",
    "customer_id",
    "terminal_id",
    "currency",
    *OPTIONAL_STRING_FIELDS,
)


class DataFileError(ValueError):
    """A transactions file cannot be used (missing columns, bad values)."""


def read_transactions(path: str | Path) -> pd.DataFrame:
    """Load a transactions file in replay order.

    Adds ``event_time`` (int64 UTC epoch seconds) and ``day`` (ISO date); ``is_fraud``
    becomes int8 when present.

    Raises
    ------
    DataFileError
        A required column is missing, or a timestamp or amount does not parse.
    """
    header = pd.read_csv(path, nrows=0).columns
    dtypes = {c: "string" for c in [*HANDBOOK_COLUMNS, *STRING_COLUMNS] if c in header}
    frame = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""])
    frame = frame.rename(columns={k: v for k, v in HANDBOOK_COLUMNS.items() if k in frame})
    missing = [c for c in REQUIRED_COLUMNS if c not in frame]
    if missing:
        raise DataFileError(f"{path}: missing columns {missing}")
    try:
        stamps = pd.to_datetime(frame["timestamp"], format="ISO8601", utc=True)
    except (ValueError, TypeError) as exc:
        raise DataFileError(f"{path}: a timestamp is not ISO-8601: {exc}") from exc
    frame["timestamp"] = stamps
    epoch = pd.Timestamp(0, tz="UTC")
    frame["event_time"] = ((stamps - epoch) // pd.Timedelta(1, "s")).astype(np.int64)
    frame["day"] = stamps.dt.strftime("%Y-%m-%d")
    frame["amount"] = pd.to_numeric(frame["amount"], errors="coerce").astype(np.float64)
    # Offline files may hold zero amounts (the Handbook has a few); the API refuses them.
    if frame["amount"].isna().any() or (frame["amount"] < 0).any():
        raise DataFileError(f"{path}: every amount must be a number >= 0")
    if LABEL_FIELD in frame:
        frame[LABEL_FIELD] = pd.to_numeric(frame[LABEL_FIELD]).fillna(0).astype(np.int8)
    order = np.argsort(frame["event_time"].to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def select_days(frame: pd.DataFrame, start: str | None, end: str | None) -> pd.Series:
    """Boolean mask of rows whose UTC date is in ``[start, end)`` (ISO dates; open ends)."""
    mask = pd.Series(True, index=frame.index)
    if start:
        mask &= frame["day"] >= start
    if end:
        mask &= frame["day"] < end
    return mask
