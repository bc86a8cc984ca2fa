"""Bulk scoring from SQS with partial batch responses (aws-lambda-powertools batch).

Powertools' ``BatchProcessor`` calls a handler record by record; scoring wants the whole
batch at once (one state fetch, one vectorised model call, one commit). This processor
keeps powertools' bookkeeping and response shape (``{"batchItemFailures": [...]}`` for
Lambda's ReportBatchItemFailures) but parses every record first and scores the valid
ones together. A bad record, or one whose scoring failed, is reported alone.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib import observability
from chalicelib.scoring import ScoreResult
from chalicelib.transaction import Transaction, TransactionValidationError, parse_transaction

ScoreBatch = Callable[[Sequence[Transaction]], list[ScoreResult | Exception]]


class MessageError(ValueError):
    """An SQS message body is not a JSON transaction."""


class ScoringBatchProcessor(BatchProcessor):
    """Scores a batch of SQS records together; failures are reported per record."""

    def __init__(self, score_batch: ScoreBatch, default_currency: str) -> None:
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        self.score_batch = score_batch
        self.default_currency = default_currency

    def process(self) -> list[tuple]:
        results: list[tuple] = []
        parsed: list[tuple[SQSRecord, Transaction]] = []
        for raw in self.records:
            record = SQSRecord(raw)
            try:
                parsed.append((record, self._parse(record)))
            except (MessageError, TransactionValidationError):
                results.append(self.failure_handler(record, sys.exc_info()))
        if parsed:
            outcomes = self.score_batch([tx for _, tx in parsed])
            for (record, _), outcome in zip(parsed, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    info = (type(outcome), outcome, outcome.__traceback__)
                    results.append(self.failure_handler(record, info))
                else:
                    results.append(self.success_handler(record, outcome))
        return results

    def _parse(self, record: SQSRecord) -> Transaction:
        try:
            payload = json.loads(record.body)
        except (TypeError, json.JSONDecodeError) as exc:
            raise MessageError(f"message {record.message_id} is not JSON") from exc
        return parse_transaction(payload, default_currency=self.default_currency)


def process_sqs_event(
    event: dict[str, Any], score_batch: ScoreBatch, default_currency: str
) -> PartialItemFailureResponse:
    """Score an SQS event; log and count its decisions; return the partial batch response."""
    processor = ScoringBatchProcessor(score_batch, default_currency)
    with processor(records=event.get("Records", []), handler=lambda record: None):
        results = processor.process()
    for status, outcome, _ in results:
        if status == "success":
            observability.record_decision(outcome.response, replayed=not outcome.created)
    response = processor.response()
    observability.count("BatchRecordsFailed", len(response["batchItemFailures"]))
    return response
