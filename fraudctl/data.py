"""Transaction files: the contract's CSV columns (gzipped or not) as a pandas frame.

The Fraud Detection Handbook's column names (``TX_DATETIME``, ``TX_AMOUNT``...) are
recognised and renamed, so its public benchmark files can be used as they are.
Rows come back in *replay order*: by event time, ties in file order. Replaying the file
online in that order gives the same features as the offline computation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from chalicelib.features.spec import SECONDS_PER_DAY
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


def _read_table(path: str | Path) -> pa.Table:
    """The file as an Arrow table: identifiers as strings, empty cells as nulls."""
    names = [*HANDBOOK_COLUMNS, *STRING_COLUMNS, "timestamp"]
    types = {name: pa.string() for name in names if name not in ("TX_FRAUD", "TX_AMOUNT")}
    options = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True)
    try:
        return pacsv.read_csv(str(path), convert_options=options)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFileError(f"{path}: cannot read as CSV: {exc}") from exc


def _event_times(path: str | Path, stamps: pa.ChunkedArray) -> np.ndarray:
    """UTC epoch seconds of ISO-8601 strings (naive ones read as UTC), floored."""
    if stamps.null_count:
        raise DataFileError(f"{path}: a timestamp is missing")
    try:  # fast path: naive ISO-8601 (the Handbook's and the simulator's files)
        nanos = stamps.cast(pa.timestamp("ns")).cast(pa.int64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        try:
            parsed = pd.to_datetime(pd.Series(stamps.to_pandas()), format="ISO8601", utc=True)
        except (ValueError, TypeError) as exc:
            raise DataFileError(f"{path}: a timestamp is not ISO-8601: {exc}") from exc
        nanos = parsed.to_numpy("datetime64[ns]").astype(np.int64)
    return np.floor_divide(nanos, 1_000_000_000)


def _day_strings(event_time: np.ndarray) -> np.ndarray:
    """ISO date of every event time (an object array, computed once per distinct day)."""
    if not len(event_time):
        return np.array([], dtype=object)
    days = event_time // SECONDS_PER_DAY
    first = int(days.min())
    span = np.arange(first, int(days.max()) + 1).astype("datetime64[D]")
    names = np.datetime_as_string(span).astype(object)
    return names[days - first]


def read_transactions(path: str | Path) -> pd.DataFrame:
    """Load a transactions file in replay order (read with pyarrow: a few seconds a GB).

    Adds ``event_time`` (int64 UTC epoch seconds) and ``day`` (ISO date); ``timestamp``
    becomes a UTC datetime; identifiers are strings (``NaN`` when empty); ``is_fraud``
    becomes int8 when present.

    Raises
    ------
    DataFileError
        A required column is missing, or a timestamp or amount does not parse.
    """
    table = _read_table(path)
    table = table.rename_columns([HANDBOOK_COLUMNS.get(n, n) for n in table.column_names])
    missing = [c for c in REQUIRED_COLUMNS if c not in table.column_names]
    if missing:
        raise DataFileError(f"{path}: missing columns {missing}")
    event_time = _event_times(path, table.column("timestamp"))
    try:
        amount = table.column("amount").cast(pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataFileError(f"{path}: every amount must be a number >= 0: {exc}") from exc
    # Offline files may hold zero amounts (the Handbook has a few); the API refuses them.
    if np.isnan(amount).any() or (amount < 0).any():
        raise DataFileError(f"{path}: every amount must be a number >= 0")
    order = np.argsort(event_time, kind="stable")
    table = table.drop_columns(["timestamp", "amount"])
    if (order != np.arange(len(order))).any():  # most files are in time order already
        table, event_time, amount = table.take(order), event_time[order], amount[order]
    frame = table.to_pandas()
    frame["amount"] = amount
    frame["event_time"] = event_time
    frame["timestamp"] = pd.to_datetime(event_time, unit="s", utc=True)
    frame["day"] = _day_strings(event_time)
    if LABEL_FIELD in frame:
        frame[LABEL_FIELD] = pd.to_numeric(frame[LABEL_FIELD]).fillna(0).astype(np.int8)
    return frame


def select_days(frame: pd.DataFrame, start: str | None, end: str | None) -> pd.Series:
    """Boolean mask of rows whose UTC date is in ``[start, end)`` (ISO dates; open ends)."""
    mask = pd.Series(True, index=frame.index)
    if start:
        mask &= frame["day"] >= start
    if end:
        mask &= frame["day"] < end
    return mask


PAYLOAD_FIELDS = (
    "transaction_id",
    "amount",
    "currency",
    "customer_id",
    "terminal_id",
    *OPTIONAL_STRING_FIELDS,
)


def row_payloads(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The contract payload (API body, queue message) of every row, in the frame's order.

    Timestamps are written as naive UTC ISO-8601 to the second; empty cells are left
    out; labels and other columns are not part of a payload.
    """
    stamps = np.datetime_as_string(frame["event_time"].to_numpy().astype("datetime64[s]"))
    columns = [c for c in PAYLOAD_FIELDS if c in frame]
    payloads = []
    for stamp, row in zip(stamps, frame[columns].itertuples(index=False), strict=True):
        payload: dict[str, Any] = {"timestamp": str(stamp)}
        for name, value in zip(columns, row, strict=True):
            if not pd.isna(value):
                payload[name] = value
        payloads.append(payload)
    return payloads
