"""The scoring service in this process, as the in-process benchmarks drive it.

The service is the one the functions run (``chalicelib.scoring.ScoringService``) on the
in-memory store, with the default rule pack (``rules/default.json``) behind the same
provider as on Lambda, and a given model. Transactions come from the project's simulator
(``fraudctl simulate``), as contract payloads in replay order.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from chalicelib import observability
from chalicelib.features.online import OnlineFeatures
from chalicelib.identifiers import IdentifierHasher
from chalicelib.model.artifact import LoadedModel
from chalicelib.rules import Schema
from chalicelib.rules.components import build_components
from chalicelib.rules.memory import MemoryListStore, MemoryRuleStore
from chalicelib.scoring import FixedModel, ScoringService
from chalicelib.settings import DEFAULT_CURRENCY, DEFAULT_RULES_REFRESH_SECONDS
from chalicelib.state.memory import MemoryStore
from chalicelib.transaction import parse_transaction
from fraudctl.data import read_transactions, row_payloads
from fraudctl.rulefiles import DEFAULT_PACK, read_rules_file
from fraudctl.simulate import SimulationConfig, simulate, write_csv

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "model_artifacts" / "default"
OUT = ROOT / "bench" / "out"
PRIMING_BATCH = 100


def simulated_payloads(customers: int, days: int, seed: int) -> list[dict[str, Any]]:
    """Payloads of ``fraudctl simulate``'s transactions, in replay order."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "simulated.csv"
        write_csv(simulate(SimulationConfig(customers=customers, days=days, seed=seed)), path)
        return row_payloads(read_transactions(path))


def scoring_service(model: LoadedModel, store: MemoryStore | None = None) -> ScoringService:
    """The service on ``store`` (default: an empty one) with ``model`` and the default rules."""
    features = OnlineFeatures()
    hasher = IdentifierHasher(b"bench")
    rules = build_components(
        MemoryRuleStore(),
        MemoryListStore(),
        Schema.for_transaction(features.names),
        hasher,
        DEFAULT_RULES_REFRESH_SECONDS,
        observability.count,
    )
    rules.rules.import_rules({"rules": read_rules_file(DEFAULT_PACK)["rules"]}, "bench")
    return ScoringService(
        store=store if store is not None else MemoryStore(),
        models=FixedModel(model),
        rules=rules.provider,
        features=features,
        hasher=hasher,
    )


def prime(service: ScoringService, payloads: Sequence[dict[str, Any]]) -> None:
    """Score ``payloads`` in batches: the history the timed transactions' features read."""
    for start in range(0, len(payloads), PRIMING_BATCH):
        batch = payloads[start : start + PRIMING_BATCH]
        service.score_batch(
            [parse_transaction(p, default_currency=DEFAULT_CURRENCY) for p in batch]
        )


@contextlib.contextmanager
def quiet_service() -> Iterator[None]:
    """Decision logs and metrics are formatted as on Lambda but written to /dev/null."""
    handler = observability.logger.registered_handler
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        previous = handler.setStream(sink)
        try:
            yield
        finally:
            handler.setStream(previous)
