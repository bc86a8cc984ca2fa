"""Item 2: transactions per second through the SQS handler path, vectorised and row by row.

Run from the repository root: ``python -m bench.bench_bulk [--transactions N]``.

An SQS event of 10 or 1,000 records goes through ``chalicelib.batch.process_sqs_event``
(parse every record, score the valid ones, the partial batch response, decision logs)
into the scoring service on the in-memory store, primed with simulated history. The
service scores a batch at once: one fetch, one vectorised model call, one commit. The
baseline is the same handler calling the service once per record (row by row), on a
copy of the same store and the same records.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Sequence
from typing import Any

from threadpoolctl import threadpool_limits

from bench.records import Figure, command_line, figure
from bench.service import DEFAULT_MODEL, prime, quiet_service, scoring_service, simulated_payloads
from chalicelib.batch import ScoreBatch, process_sqs_event
from chalicelib.model.artifact import load_directory
from chalicelib.scoring import ScoreResult, ScoringService
from chalicelib.settings import DEFAULT_CURRENCY
from chalicelib.state.memory import MemoryStore
from chalicelib.transaction import Transaction
from tests.conftest import sqs_event

BATCH_SIZES = (10, 1000)
HISTORY_DAYS = 28


def row_by_row(service: ScoringService) -> ScoreBatch:
    """The baseline's scoring: one ``score_batch`` call per transaction."""

    def score(transactions: Sequence[Transaction]) -> list[ScoreResult | Exception]:
        return [service.score_batch([tx])[0] for tx in transactions]

    return score


def throughput(score: ScoreBatch, payloads: Sequence[dict[str, Any]], size: int) -> float:
    """Transactions per second of SQS events of ``size`` records through ``score``."""
    events = [
        sqs_event([json.dumps(p) for p in payloads[start : start + size]])
        for start in range(0, len(payloads) - size + 1, size)
    ]
    start = time.perf_counter()
    for event in events:
        response = process_sqs_event(event, score, DEFAULT_CURRENCY)
        if response["batchItemFailures"]:
            raise RuntimeError(f"records failed: {response['batchItemFailures'][:3]}")
    return len(events) * size / (time.perf_counter() - start)


def measure(
    transactions: int = 2000, customers: int = 100, batch_sizes: tuple[int, ...] = BATCH_SIZES
) -> list[Figure]:
    """Item 2's figures; ``transactions`` records (whole batches) per batch size and mode."""
    if any(transactions % size for size in batch_sizes):
        raise ValueError(f"{transactions} transactions are not whole batches of {batch_sizes}")
    payloads = simulated_payloads(customers, HISTORY_DAYS + 4, seed=4)
    timed = len(batch_sizes) * transactions
    history, fresh = payloads[:-timed], payloads[-timed:]
    model = load_directory(DEFAULT_MODEL)
    store = MemoryStore()
    figures = []
    with threadpool_limits(limits=1), quiet_service():
        prime(scoring_service(model, store), history)
        for number, size in enumerate(batch_sizes):
            records = fresh[number * transactions : (number + 1) * transactions]
            batched = scoring_service(model, copy.deepcopy(store))
            single = scoring_service(model, copy.deepcopy(store))
            value = throughput(batched.score_batch, records, size)
            baseline = throughput(row_by_row(single), records, size)
            figures.append(
                figure(f"sqs_batch_{size}_throughput", value, "tx/s", baseline, better="higher")
            )
    return figures


def main() -> None:
    command_line(__doc__, measure, transactions=2000, customers=100)


if __name__ == "__main__":
    main()
