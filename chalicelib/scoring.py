"""The scoring service: validated transactions in, stored decisions (and alerts) out.

One code path serves the API (a batch of one) and the SQS handler (a batch of many):

1. one fetch: stored decisions (idempotency), state items, list items;
2. a second fetch only for hot counter entities' extra shards;
3. features, computed in event-time order with each transaction's updates applied in
   memory, so that later transactions of the batch see earlier ones;
4. the model on the whole batch at once (vectorised; its isolation forest, if any, adds
   ``anomaly_score`` to the features), then rules and decisions; a challenger model, if
   any, is scored in shadow and recorded beside the decision (``chalicelib.shadow``);
5. one atomic commit per group of at most 100 actions: decision records written only if
   absent, together with their state updates;
6. alerts: a stored decision that asks for one (review, block, an ``alert`` rule) carries
   ``alert: true``. Deployed, the decisions table's stream delivers it
   (``chalicelib.delivery``): nothing more happens on the scoring path. Given an
   ``alerts`` publisher (offline replays), the service publishes to it after the commit,
   never for duplicates.

The service knows nothing of boto3: it is given a store, a model provider, a rules
provider and optionally an alert publisher.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol

from chalicelib.alerts import AlertError, AlertPublisher
from chalicelib.decisions import Decision, RuleOutcome, decide
from chalicelib.errors import ConcurrentUpdateError, NotFoundError, StoreError
from chalicelib.explain import feature_reasons
from chalicelib.features.online import OnlineFeatures
from chalicelib.identifiers import IdentifierHasher
from chalicelib.model.artifact import LoadedModel, Thresholds
from chalicelib.model.scorer import ANOMALY_FEATURE
from chalicelib.shadow import ShadowScores, log_comparison
from chalicelib.state.store import Commit, LabelChange, ListKey, ScoringStore, Snapshot
from chalicelib.state.updates import Item, apply_update
from chalicelib.transaction import OPTIONAL_STRING_FIELDS, Transaction

logger = logging.getLogger(__name__)

DAY_BUCKETS = 16
MAX_LABEL_ATTEMPTS = 3
RESPONSE_FIELDS = (
    "transaction_id",
    "decision",
    "score",
    "risk_score",
    "reasons",
    "model_version",
    "rules_version",
)
HASHED_FIELDS = ("email", "ip_address")


class RuleSet(Protocol):
    """The rules in force (implemented by the rules package)."""

    version: str

    def list_lookups(self, tx: Transaction) -> set[ListKey]:
        """List items the rules may read for ``tx`` (fetched with the state)."""
        ...

    def evaluate(
        self,
        tx: Transaction,
        features: Mapping[str, float],
        score: float,
        list_items: Mapping[ListKey, Item],
    ) -> RuleOutcome:
        """Rules that fire for ``tx``: active hits decide, shadow hits are recorded, list
        puts (suspensions) are committed with the decision."""
        ...


class EmptyRuleSet:
    """No rules: the model alone decides."""

    version = "none"

    def list_lookups(self, tx: Transaction) -> set[ListKey]:
        return set()

    def evaluate(
        self,
        tx: Transaction,
        features: Mapping[str, float],
        score: float,
        list_items: Mapping[ListKey, Item],
    ) -> RuleOutcome:
        return RuleOutcome()


class FixedModel:
    """A model source that always serves one loaded model and no challenger (offline
    replays, benchmarks)."""

    def __init__(self, model: LoadedModel) -> None:
        self.model = model

    def current(self) -> LoadedModel:
        return self.model

    def challenger(self) -> LoadedModel | None:
        return None


class FixedRules:
    """A rule source that always serves the same rule set (offline replays, tests)."""

    def __init__(self, rules: RuleSet | None = None) -> None:
        self.rules = rules if rules is not None else EmptyRuleSet()

    def current(self) -> RuleSet:
        return self.rules


class ModelSource(Protocol):
    def current(self) -> LoadedModel: ...

    def challenger(self) -> LoadedModel | None:
        """The model scored in shadow, if any (see ``chalicelib.shadow``)."""
        ...


class RuleSource(Protocol):
    def current(self) -> RuleSet: ...


class ScoreResult(NamedTuple):
    """The answer for one transaction.

    ``created`` is False when the decision already existed (a retry or redelivery): the
    stored answer is returned and nothing was written.
    """

    response: dict[str, Any]
    record: Item
    created: bool


class ScoringOptions(NamedTuple):
    """Per-stage knobs of the service."""

    review_threshold: float | None = None
    block_threshold: float | None = None
    review_cost: float | None = None
    decision_retention_days: int = 400


@dataclass
class ScoringService:
    """Scores transactions; see the module documentation for the steps."""

    store: ScoringStore
    models: ModelSource
    rules: RuleSource
    features: OnlineFeatures
    hasher: IdentifierHasher
    alerts: AlertPublisher | None = None
    options: ScoringOptions = field(default_factory=ScoringOptions)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # -- scoring --------------------------------------------------------------------
    def score(self, tx: Transaction) -> ScoreResult:
        """Score one transaction (idempotent on ``transaction_id``)."""
        outcome = self.score_batch([tx])[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def score_batch(self, transactions: Sequence[Transaction]) -> list[ScoreResult | Exception]:
        """Score several transactions; each entry is a result or the error that failed it.

        Errors are per transaction where possible; a storage failure fails every
        transaction that was not stored.
        """
        model = self.models.current()
        rules = self.rules.current()
        thresholds = model.thresholds.overridden(
            self.options.review_threshold, self.options.block_threshold, self.options.review_cost
        )
        first_index: dict[str, int] = {}
        for index, tx in enumerate(transactions):
            first_index.setdefault(tx.transaction_id, index)
        unique = [transactions[i] for i in sorted(set(first_index.values()))]

        snapshot = self.store.fetch(
            transaction_ids=[tx.transaction_id for tx in unique],
            state_keys=[key for tx in unique for key in self.features.read_keys(tx)],
            list_keys=sorted({key for tx in unique for key in rules.list_lookups(tx)}),
        )
        fresh = [tx for tx in unique if tx.transaction_id not in snapshot.decisions]
        extra = [key for tx in fresh for key in self.features.extra_read_keys(tx, snapshot.items)]
        if extra:
            snapshot = snapshot.merged(self.store.fetch(state_keys=extra))

        results: dict[str, ScoreResult | Exception] = {
            txid: _stored_result(record) for txid, record in snapshot.decisions.items()
        }
        if fresh:
            results.update(self._score_fresh(fresh, snapshot, model, rules, thresholds))
        return [results[tx.transaction_id] for tx in transactions]

    def _score_fresh(
        self,
        fresh: list[Transaction],
        snapshot: Snapshot,
        model: LoadedModel,
        rules: RuleSet,
        thresholds: Thresholds,
    ) -> dict[str, ScoreResult | Exception]:
        ordered = sorted(fresh, key=lambda tx: tx.event_time)
        # Updates replace top-level attributes only (``apply_update``): a copy of each
        # item keeps the snapshot as read, without copying the ledgers inside.
        items: dict[str, Item] = {key: dict(item) for key, item in snapshot.items.items()}
        list_items = dict(snapshot.list_items)  # later transactions see earlier suspensions
        features: list[dict[str, float]] = []
        commits: list[Commit] = []
        shards: list[dict[str, int]] = []
        for tx in ordered:
            values, recorded = self.features.observe(tx, items)
            features.append(values)
            for update in recorded.updates:
                apply_update(items.setdefault(update.key, {}), update)
            shards.append(recorded.shards)
            commits.append(Commit(tx.transaction_id, {}, recorded.updates))

        scored = model.score(features)
        if scored.anomaly_scores is not None:
            for values, anomaly in zip(features, scored.anomaly_scores, strict=True):
                values[ANOMALY_FEATURE] = float(anomaly)
        challenger = self.models.challenger()
        shadow = ShadowScores.of(challenger, features) if challenger else None
        now = self.clock()
        records: dict[str, Item] = {}
        for index, tx in enumerate(ordered):
            score = float(scored.scores[index])
            ruled = rules.evaluate(tx, features[index], score, list_items)
            decision = decide(score, thresholds, ruled.hits, tx.amount)
            if decision.explained:
                decision = decision.with_feature_reasons(
                    feature_reasons(
                        model,
                        scored.inputs[index],
                        features[index],
                        self.features.definitions,
                        tx.currency,
                    )
                )
            record = self._record(tx, decision, features[index], shards[index], model, rules, now)
            record["shadow_rules"] = [hit.to_dict() for hit in ruled.shadow]
            if shadow is not None:
                record["challenger"] = shadow.outcome(index, ruled.hits, tx.amount)
                log_comparison(record)
            records[tx.transaction_id] = record
            list_items.update((put.key, put.item) for put in ruled.list_puts)
            commits[index] = Commit(
                tx.transaction_id, record, commits[index].updates, ruled.list_puts
            )

        try:
            outcome = self.store.commit(commits)
        except StoreError as exc:
            return {tx.transaction_id: exc for tx in ordered}

        results: dict[str, ScoreResult | Exception] = {}
        for txid in outcome.duplicates:
            stored = self.store.get_decision(txid)
            if stored is None:
                results[txid] = StoreError(f"decision of {txid} vanished during a race")
            else:
                results[txid] = _stored_result(stored)
        for txid in outcome.committed:
            record = records[txid]
            if record["alert"] and self.alerts is not None:
                self._publish_alert(self.alerts, record)
            results[txid] = ScoreResult(_response(record), record, created=True)
        return results

    def _record(
        self,
        tx: Transaction,
        decision: Decision,
        features: Mapping[str, float],
        shards: Mapping[str, int],
        model: LoadedModel,
        rules: RuleSet,
        now: datetime,
    ) -> Item:
        day = tx.timestamp.date().isoformat()
        bucket = int(self.hasher.digest(tx.transaction_id)[:4], 16) % DAY_BUCKETS
        record: Item = {
            "transaction_id": tx.transaction_id,
            "timestamp": tx.timestamp.isoformat(),
            "event_time": tx.event_time,
            "day": day,
            "day_bucket": f"{day}#{bucket:02d}",
            "amount": tx.amount,
            "currency": tx.currency,
            "customer_id": tx.customer_id,
            "terminal_id": tx.terminal_id,
            "decision": decision.decision,
            "score": round(decision.score, 9),
            "risk_score": decision.risk_score,
            "reasons": [reason.to_dict() for reason in decision.reasons],
            "alert": decision.alert,
            "model_version": model.version,
            "rules_version": rules.version,
            "features": dict(features),
            "entities": {
                spec.name: str(tx.get(spec.key_field))
                for spec in self.features.config.entities
                if tx.get(spec.key_field) is not None
            },
            "shards": dict(shards),
            "decided_at": now.isoformat(),
            "expires_at": int(
                (now + timedelta(days=self.options.decision_retention_days)).timestamp()
            ),
        }
        for name in OPTIONAL_STRING_FIELDS:
            value = tx.get(name)
            if value is None:
                continue
            if name in HASHED_FIELDS:
                record[f"{name}_hash"] = self.hasher.digest(value)
            else:
                record[name] = value
        if tx.metadata:
            record["metadata"] = tx.metadata
        return record

    @staticmethod
    def _publish_alert(alerts: AlertPublisher, record: Item) -> None:
        try:
            alerts.publish(record)
        except AlertError as exc:
            logger.error(
                "alert not published",
                extra={"transaction_id": record["transaction_id"], "error": str(exc)},
            )

    # -- reads and feedback ---------------------------------------------------------
    def get(self, transaction_id: str) -> Item:
        """The stored decision (``NotFoundError`` when unknown)."""
        record = self.store.get_decision(transaction_id)
        if record is None:
            raise NotFoundError(f"transaction {transaction_id} is unknown")
        return record

    def feedback(self, transaction_id: str, is_fraud: bool) -> dict[str, Any]:
        """Record an analyst's label; a flip corrects the counts it feeds.

        Sending the same label again changes nothing.
        """
        for _ in range(MAX_LABEL_ATTEMPTS):
            record = self.get(transaction_id)
            previous = record.get("label")
            if previous == is_fraud:
                return {"transaction_id": transaction_id, "is_fraud": is_fraud, "changed": False}
            delta = int(is_fraud) - int(bool(previous))
            updates = (
                self.features.relabel(
                    record.get("entities", {}),
                    record.get("shards", {}),
                    int(record["event_time"]),
                    delta,
                )
                if delta
                else []
            )
            change = LabelChange(
                transaction_id, previous, is_fraud, self.clock().isoformat(), updates
            )
            try:
                self.store.change_label(change)
            except ConcurrentUpdateError:
                continue
            return {"transaction_id": transaction_id, "is_fraud": is_fraud, "changed": True}
        raise ConcurrentUpdateError(f"label of {transaction_id} keeps changing; retry later")


def _response(record: Mapping[str, Any]) -> dict[str, Any]:
    return {name: record.get(name) for name in RESPONSE_FIELDS}


def _stored_result(record: Item) -> ScoreResult:
    return ScoreResult(_response(record), record, created=False)
