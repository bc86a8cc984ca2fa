"""Replaying a transactions file through the online scoring path, labels arriving late.

One driver serves ``fraudctl score`` (the service in process, on the in-memory store) and
``fraudctl replay`` (a running API over HTTP): rows go in replay order; each row's label
(``is_fraud``) is sent as feedback once ``label_delay_days`` have passed after it, before
any transaction at or after that moment is scored, exactly as the offline features
assume. Rows the service refuses (a zero amount, a bad field) are reported, never
dropped silently. Scores of rows dated in ``[start, end)`` are the output.

Only fraud labels move counts, so the in-process target may score consecutive rows as
one batch (as the queue handler does) between two fraud labels falling due: the scores
are the same as one call per row.
"""

from __future__ import annotations

import csv
import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from chalicelib.alerts import MemoryAlertPublisher
from chalicelib.features.online import OnlineFeatures
from chalicelib.features.spec import SECONDS_PER_DAY
from chalicelib.identifiers import IdentifierHasher
from chalicelib.model.artifact import load_directory
from chalicelib.scoring import FixedModel, FixedRules, ScoreResult, ScoringService
from chalicelib.state.memory import MemoryStore
from chalicelib.transaction import LABEL_FIELD, TransactionValidationError, parse_transaction
from fraudctl.data import row_payloads, select_days

DEFAULT_LABEL_DELAY_DAYS = 7
DEFAULT_CURRENCY = "EUR"
MEMORY_BATCH = 10
OUTPUT_COLUMNS = ("transaction_id", "score", "decision")


@dataclass(frozen=True)
class Scored:
    """The service's answer for one row."""

    transaction_id: str
    score: float
    decision: str


@dataclass(frozen=True)
class Refused:
    """A row the service refused (HTTP 400 or a validation error), and why."""

    transaction_id: str
    reason: str


Outcome = Scored | Refused


class ScoringTarget(Protocol):
    """Where a replay sends transactions and labels."""

    batch_size: int

    def score(self, payloads: Sequence[dict[str, Any]]) -> list[Outcome]:
        """Score the payloads (in order); one outcome each."""
        ...

    def feedback(self, transaction_id: str, is_fraud: bool) -> None:
        """Label a scored transaction."""
        ...


def memory_service(model_dir: Path, features: OnlineFeatures | None = None) -> ScoringService:
    """The scoring service on the in-memory store with the model of ``model_dir``.

    Rules are empty and alerts stay in memory: the scores and decisions are the model's,
    as on a stage without rules.
    """
    return ScoringService(
        store=MemoryStore(),
        models=FixedModel(load_directory(model_dir)),
        rules=FixedRules(),
        alerts=MemoryAlertPublisher(),
        features=features or OnlineFeatures(),
        hasher=IdentifierHasher(b"offline-replay"),
    )


class ServiceTarget:
    """The scoring service in this process (``fraudctl score``)."""

    batch_size = MEMORY_BATCH

    def __init__(self, service: ScoringService, default_currency: str = DEFAULT_CURRENCY):
        self.service = service
        self.default_currency = default_currency

    def score(self, payloads: Sequence[dict[str, Any]]) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        valid = []
        for index, payload in enumerate(payloads):
            try:
                tx = parse_transaction(payload, default_currency=self.default_currency)
            except TransactionValidationError as exc:
                outcomes[index] = Refused(str(payload.get("transaction_id")), str(exc))
                continue
            valid.append((index, tx))
        results = self.service.score_batch([tx for _, tx in valid])
        for (index, _), result in zip(valid, results, strict=True):
            if isinstance(result, Exception):
                raise result
            outcomes[index] = _scored(result)
        return [outcomes[index] for index in range(len(payloads))]

    def feedback(self, transaction_id: str, is_fraud: bool) -> None:
        self.service.feedback(transaction_id, is_fraud)


def _scored(result: ScoreResult) -> Scored:
    response = result.response
    return Scored(response["transaction_id"], float(response["score"]), response["decision"])


@dataclass
class ReplayResult:
    """What a replay produced: outcomes of the rows in range, and every refusal."""

    scored: list[Scored] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    refused_in_range: int = 0
    rows: int = 0
    labels_sent: int = 0


@dataclass(order=True)
class _Label:
    due: int
    sequence: int
    transaction_id: str = field(compare=False)
    is_fraud: bool = field(compare=False)


class _Labels:
    """Labels waiting for their delay, earliest due first."""

    def __init__(self, delay_seconds: int) -> None:
        self.delay = delay_seconds
        self.heap: list[_Label] = []
        self.fraud_due: list[int] = []  # due times of pending fraud labels (a heap)
        self.sequence = 0

    def add(self, transaction_id: str, event_time: int, is_fraud: bool) -> None:
        due = event_time + self.delay
        heapq.heappush(self.heap, _Label(due, self.sequence, transaction_id, is_fraud))
        if is_fraud:
            heapq.heappush(self.fraud_due, due)
        self.sequence += 1

    def fraud_due_by(self, moment: int) -> bool:
        """Whether a fraud label falls due at or before ``moment``."""
        return bool(self.fraud_due) and self.fraud_due[0] <= moment

    def pop_due(self, moment: int) -> Iterator[_Label]:
        """Take out the labels due at or before ``moment``, earliest first."""
        while self.heap and self.heap[0].due <= moment:
            label = heapq.heappop(self.heap)
            if label.is_fraud:
                heapq.heappop(self.fraud_due)
            yield label


def replay(
    frame: pd.DataFrame,
    target: ScoringTarget,
    start: str | None = None,
    end: str | None = None,
    label_delay_days: int = DEFAULT_LABEL_DELAY_DAYS,
) -> ReplayResult:
    """Replay ``frame`` (replay order, from ``read_transactions``) into ``target``.

    Every row dated before ``end`` is sent (the earlier ones are the history the
    features of the rows in range need); outcomes of the rows in ``[start, end)`` are
    kept. Labels of accepted rows are sent ``label_delay_days`` after each row.
    """
    if end:
        frame = frame[(frame["day"] < end).to_numpy()]
    in_range = select_days(frame, start, end).to_numpy()
    payloads = row_payloads(frame)
    times = frame["event_time"].to_numpy(np.int64)
    labels = (
        frame[LABEL_FIELD].to_numpy().astype(bool)
        if LABEL_FIELD in frame
        else np.zeros(len(frame), dtype=bool)
    )
    has_labels = LABEL_FIELD in frame
    pending = _Labels(label_delay_days * SECONDS_PER_DAY)
    result = ReplayResult(rows=len(frame))
    refused_ids: set[str] = set()
    batch: list[int] = []

    def flush() -> None:
        outcomes = target.score([payloads[i] for i in batch])
        for index, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Refused):
                result.refused.append(outcome)
                refused_ids.add(outcome.transaction_id)
                result.refused_in_range += int(in_range[index])
            elif in_range[index]:
                result.scored.append(outcome)
        batch.clear()

    def deliver(moment: int) -> None:
        for label in pending.pop_due(moment):
            if label.transaction_id not in refused_ids:
                target.feedback(label.transaction_id, label.is_fraud)
                result.labels_sent += 1

    for index in range(len(frame)):
        moment = int(times[index])
        if batch and (len(batch) >= target.batch_size or pending.fraud_due_by(moment)):
            flush()
        if not batch:
            deliver(moment)
        batch.append(index)
        if has_labels:
            pending.add(str(payloads[index]["transaction_id"]), moment, bool(labels[index]))
    if batch:
        flush()
    return result


def write_scores(scored: Sequence[Scored], path: Path) -> None:
    """``transaction_id,score,decision`` per scored row."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(OUTPUT_COLUMNS)
        writer.writerows((s.transaction_id, repr(s.score), s.decision) for s in scored)


def write_refusals(refused: Sequence[Refused], path: Path) -> None:
    """``transaction_id,reason`` per refused row."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("transaction_id", "reason"))
        writer.writerows((r.transaction_id, r.reason) for r in refused)


def refusals_path(out: Path) -> Path:
    """Where the refused rows of ``out`` are listed: ``<out stem>.refused.csv``."""
    return out.with_name(f"{out.name.removesuffix('.csv')}.refused.csv")


def summary(result: ReplayResult, out: Path, started: datetime) -> str:
    """One line for the user."""
    seconds = (datetime.now(UTC) - started).total_seconds()
    line = (
        f"{result.rows:,} rows replayed ({result.rows / max(seconds, 1e-9):,.0f}/s), "
        f"{result.labels_sent:,} labels sent; {len(result.scored):,} scores -> {out}"
    )
    if result.refused:
        line += (
            f"; {len(result.refused):,} rows refused ({result.refused_in_range:,} in range) "
            f"-> {refusals_path(out)}"
        )
    return line
