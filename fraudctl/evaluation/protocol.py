"""The Fraud Detection Handbook's assessment protocol: split, label delay, known frauds, folds.

A ``Split`` is a training window, a delay during which the latest labels are not yet known,
and an assessment (test) window. Chapter 3 of the Handbook trains on 2018-07-25 ..
2018-07-31, skips 7 days and tests on 2018-08-08 .. 2018-08-14.

On each test day the customers *known to be compromised* are removed: a customer is known
on day ``d`` when one of their transactions dated from the first training day to
``d - delay - 1`` is a fraud (the Handbook's ``get_train_test_set``). Their later
transactions would be blocked by the card issuer anyway, and keeping them inflates every
metric.

``folds`` gives the Handbook's chapter-5 weekly folds: fold ``k`` is the whole split
shifted ``k`` weeks earlier, so fold 0 is the chapter-3 split itself and the four test
weeks are consecutive and end where chapter 3's does.

Rows are fitted and ranked in *protocol order*: by event time, then by transaction id,
ids compared as integers when every id is one (the Handbook sorts its sets by
``TRANSACTION_ID``; a random forest's bootstrap depends on row order).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from chalicelib.features.spec import SECONDS_PER_DAY
from chalicelib.transaction import LABEL_FIELD

HANDBOOK_TRAIN_FROM = date(2018, 7, 25)
DEFAULT_FOLDS = 4
FOLD_STEP_DAYS = 7


class ProtocolError(ValueError):
    """A split does not fit the data (no rows in a window) or its settings are invalid."""


@dataclass(frozen=True)
class Split:
    """Training window, label delay and test window, in whole days.

    Attributes
    ----------
    train_from:
        First training day.
    train_days:
        Length of the training window.
    delay_days:
        Days between the end of training and the first test day; also how long a label
        takes to become known.
    test_days:
        Length of the test window.
    """

    train_from: date = HANDBOOK_TRAIN_FROM
    train_days: int = 7
    delay_days: int = 7
    test_days: int = 7

    def __post_init__(self) -> None:
        if self.train_days < 1 or self.test_days < 1 or self.delay_days < 0:
            raise ProtocolError("train and test windows need a day or more, the delay 0 or more")

    @property
    def train_to(self) -> date:
        """The day after the last training day."""
        return self.train_from + timedelta(days=self.train_days)

    @property
    def test_from(self) -> date:
        return self.train_to + timedelta(days=self.delay_days)

    @property
    def test_to(self) -> date:
        """The day after the last test day."""
        return self.test_from + timedelta(days=self.test_days)

    def shifted(self, days: int) -> Split:
        """The same split moved ``days`` later (earlier when negative)."""
        return replace(self, train_from=self.train_from + timedelta(days=days))

    def describe(self) -> str:
        last = self.train_to - timedelta(days=1)
        return (
            f"train {self.train_from}..{last}, delay {self.delay_days} d, "
            f"test {self.test_from}..{self.test_to - timedelta(days=1)}"
        )


def folds(
    split: Split, n_folds: int = DEFAULT_FOLDS, step_days: int = FOLD_STEP_DAYS
) -> list[Split]:
    """``n_folds`` splits, fold ``k`` being ``split`` shifted ``k * step_days`` days earlier.

    >>> [f.test_from.isoformat() for f in folds(Split(), 4)]
    ['2018-08-08', '2018-08-01', '2018-07-25', '2018-07-18']
    """
    if n_folds < 1:
        raise ProtocolError("at least one fold is needed")
    return [split.shifted(-k * step_days) for k in range(n_folds)]


def day_numbers(frame: pd.DataFrame) -> np.ndarray:
    """Each row's UTC day as a day number since 1970-01-01."""
    return frame["event_time"].to_numpy(np.int64) // SECONDS_PER_DAY


def _day_number(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def window_mask(frame: pd.DataFrame, start: date, end: date) -> np.ndarray:
    """Rows dated in ``[start, end)``."""
    days = day_numbers(frame)
    return (days >= _day_number(start)) & (days < _day_number(end))


def known_compromised(frame: pd.DataFrame, known_from: date, delay_days: int) -> np.ndarray:
    """Per row: is its customer known to be compromised on the row's day?

    Known means a fraud of that customer dated in ``[known_from, day - delay_days - 1]``.
    ``frame`` needs ``customer_id``, ``event_time`` and ``is_fraud``.
    """
    days = day_numbers(frame)
    frauds = (frame[LABEL_FIELD].to_numpy() == 1) & (days >= _day_number(known_from))
    codes, _ = pd.factorize(frame["customer_id"])
    first_fraud = np.full(codes.max() + 2 if len(codes) else 1, np.iinfo(np.int64).max)
    np.minimum.at(first_fraud, codes[frauds], days[frauds])
    return first_fraud[codes] <= days - delay_days - 1


def assessment_mask(
    frame: pd.DataFrame, start: date, end: date, known_from: date, delay_days: int
) -> np.ndarray:
    """Rows dated in ``[start, end)`` whose customer is not known to be compromised."""
    in_window = window_mask(frame, start, end)
    if LABEL_FIELD not in frame:
        return in_window
    return in_window & ~known_compromised(frame, known_from, delay_days)


def training_mask(frame: pd.DataFrame, split: Split) -> np.ndarray:
    return window_mask(frame, split.train_from, split.train_to)


def held_out_mask(frame: pd.DataFrame, split: Split) -> np.ndarray:
    """The split's test rows, known-compromised customers removed per test day."""
    return assessment_mask(
        frame, split.test_from, split.test_to, split.train_from, split.delay_days
    )


def id_order_key(ids: pd.Series) -> np.ndarray:
    """Sort key of transaction (or customer) ids: integers when every id is one."""
    text = ids.astype("string")
    if len(text) and text.str.fullmatch(r"\d{1,18}").all():
        return text.astype(np.int64).to_numpy()
    return text.to_numpy(dtype=object)


def protocol_order(frame: pd.DataFrame, mask: np.ndarray) -> np.ndarray:
    """Indices of ``mask``'s rows by event time, then transaction id (see the module)."""
    rows = np.flatnonzero(mask)
    selected = frame.iloc[rows]
    keys = pd.DataFrame(
        {"time": selected["event_time"].to_numpy(), "id": id_order_key(selected["transaction_id"])}
    )
    return rows[keys.sort_values(["time", "id"], kind="stable").index.to_numpy()]
