"""Delivering decision alerts: skip the published, retry the transient, park the rest.

Pure orchestration: the topic, the published markers and the outbox queue are given
(``chalicelib.delivery.dynamodb``, ``.sqs``, ``chalicelib.delivery.sns.SnsTopic``; in-memory
ones in ``.memory``).

``deliver`` takes the alerts of one stream batch, in stream order:

1. one read of the markers of the whole batch; marked alerts are skipped (a redelivered
   batch, or an alert the outbox drain already published);
2. each other alert is published with ``RetryPolicy`` (transient errors only), then
   marked published under a condition (``mark`` returns False when someone marked it
   first);
3. an alert the topic keeps refusing goes to the outbox queue;
4. if the markers cannot be read or the outbox cannot take an alert, delivery stops
   there and reports that alert's stream position as failed: the stream hands it, and
   everything after it, back later (Lambda retries from the failed position).

``drain`` empties the outbox: alerts already marked are dropped, others published and
marked; an alert that still fails stays on the queue for a later run (and reaches its
dead-letter queue after the queue's redrive limit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from chalicelib.alerts import (
    DECISION_ALERT,
    AlertError,
    AlertMessage,
    Topic,
    TransientAlertError,
    decision_alert,
)
from chalicelib.delivery.retry import RetryPolicy
from chalicelib.errors import FraudServiceError

logger = logging.getLogger(__name__)

DRAIN_BATCH = 10
MAX_DRAIN_BATCHES = 50


class DeliveryError(FraudServiceError):
    """A store that delivery relies on failed."""


class MarkError(DeliveryError):
    """Published markers could not be read or written."""


class OutboxError(DeliveryError):
    """The outbox queue could not take or hand out alerts."""


@dataclass(frozen=True)
class PendingAlert:
    """A stored decision that asks for an alert, at ``position`` in the stream."""

    position: str
    record: Mapping[str, Any]


@dataclass(frozen=True)
class OutboxEntry:
    """A message received from the outbox: ``id`` is the same at every receipt,
    ``receipt`` deletes it, ``message`` is None when it is unreadable."""

    id: str
    receipt: str
    message: AlertMessage | None


class AlertMarks(Protocol):
    """Which alerts were published (the decision record's ``alert_published_at``)."""

    def published(self, keys: Sequence[str]) -> set[str]:
        """The keys among ``keys`` marked published (``MarkError`` on failure)."""
        ...

    def mark(self, key: str, message_id: str, at: str) -> bool:
        """Mark ``key`` published unless it is; False when it already was.

        Raises
        ------
        MarkError
            The marker could not be written.
        """
        ...


class Outbox(Protocol):
    """The queue of alerts waiting to be published again."""

    def put(self, message: AlertMessage) -> None:
        """Keep ``message`` for the drain (``OutboxError`` on failure)."""
        ...

    def receive(self, limit: int) -> list[OutboxEntry]:
        """Up to ``limit`` waiting messages, hidden from other readers for a while."""
        ...

    def delete(self, receipts: Sequence[str]) -> None:
        """Forget delivered messages."""
        ...


@dataclass
class DeliveryOutcome:
    """What ``deliver`` did with a batch (keys are transaction ids)."""

    published: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    outboxed: list[str] = field(default_factory=list)
    failed_from: str | None = None

    def batch_response(self) -> dict[str, list[dict[str, str]]]:
        """The Lambda stream handler's answer (a partial batch failure, or none)."""
        failures = [] if self.failed_from is None else [{"itemIdentifier": self.failed_from}]
        return {"batchItemFailures": failures}


@dataclass
class DrainOutcome:
    """What ``drain`` did (counts of messages)."""

    received: int = 0
    published: int = 0
    dropped_as_published: int = 0
    failed: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(vars(self))


def _no_metrics(name: str, value: float = 1) -> None:
    """Default metrics sink: nothing."""


@dataclass
class AlertDelivery:
    """Publishes decision alerts at least once (see the module documentation)."""

    topic: Topic
    marks: AlertMarks
    outbox: Outbox
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    count: Callable[[str, float], None] = _no_metrics

    def deliver(self, alerts: Sequence[PendingAlert]) -> DeliveryOutcome:
        """Deliver one stream batch's alerts, in order (see the module documentation)."""
        outcome = DeliveryOutcome()
        if not alerts:
            return outcome
        try:
            done = self.marks.published([str(a.record["transaction_id"]) for a in alerts])
        except MarkError as exc:
            logger.error("alert markers unreadable; batch retried", extra={"error": str(exc)})
            outcome.failed_from = alerts[0].position
            return outcome
        for alert in alerts:
            message = decision_alert(alert.record)
            if message.key in done:
                outcome.skipped.append(message.key)
                continue
            if self._publish(message):
                outcome.published.append(message.key)
            else:
                try:
                    self.outbox.put(message)
                except OutboxError as exc:
                    logger.error(
                        "alert neither published nor kept; the stream hands it back",
                        extra={"transaction_id": message.key, "error": str(exc)},
                    )
                    outcome.failed_from = alert.position
                    break
                outcome.outboxed.append(message.key)
            done.add(message.key)
        self.count("AlertsPublished", len(outcome.published))
        self.count("AlertsOutboxed", len(outcome.outboxed))
        self.count("AlertsSkippedAsPublished", len(outcome.skipped))
        return outcome

    def send(self, message: AlertMessage) -> bool:
        """Publish one alert now (an alert of the reports, say), or keep it on the outbox
        for the drain; True when it was published.

        Raises
        ------
        OutboxError
            Neither the topic nor the outbox took it.
        """
        if self._publish(message):
            return True
        self.outbox.put(message)
        return False

    def drain(self, max_batches: int = MAX_DRAIN_BATCHES) -> DrainOutcome:
        """Publish what waits on the outbox, ``DRAIN_BATCH`` messages at a time, until it
        is empty, ``max_batches`` batches were read, or a whole batch failed (the topic
        still refuses: the run stays short and the next one tries again)."""
        outcome = DrainOutcome()
        seen: set[str] = set()  # a message received again in the same run waits for the next
        for _ in range(max_batches):
            entries = [e for e in self.outbox.receive(DRAIN_BATCH) if e.id not in seen]
            if not entries:
                break
            seen.update(e.id for e in entries)
            outcome.received += len(entries)
            readable = [e for e in entries if e.message is not None]
            outcome.failed += len(entries) - len(readable)
            keys = [
                e.message.key for e in readable if e.message and e.message.kind == DECISION_ALERT
            ]
            try:
                done = self.marks.published(keys) if keys else set()
            except MarkError as exc:
                logger.error("alert markers unreadable; drain later", extra={"error": str(exc)})
                outcome.failed += len(readable)
                break
            delivered: list[str] = []
            for entry in readable:
                assert entry.message is not None  # noqa: S101 (filtered above)
                if entry.message.key in done:
                    outcome.dropped_as_published += 1
                    delivered.append(entry.receipt)
                elif self._publish(entry.message):
                    outcome.published += 1
                    delivered.append(entry.receipt)
                else:
                    outcome.failed += 1
            if delivered:
                self.outbox.delete(delivered)
            else:
                break  # the topic still refuses everything: leave the rest to the next run
        self.count("OutboxAlertsPublished", outcome.published)
        self.count("OutboxAlertsFailed", outcome.failed)
        return outcome

    def _publish(self, message: AlertMessage) -> bool:
        """Publish with retries and mark a decision alert; False when the topic refused."""
        try:
            message_id = self.retry.call(lambda: self.topic.send(message), TransientAlertError)
        except AlertError as exc:
            logger.warning(
                "alert not published", extra={"alert_key": message.key, "error": str(exc)}
            )
            return False
        if message.kind != DECISION_ALERT:
            return True
        try:
            if not self.marks.mark(message.key, message_id, self.clock().isoformat()):
                self.count("AlertsMarkedByAnother", 1)
        except MarkError as exc:
            # Published but unmarked: a later redelivery may publish it again.
            logger.error(
                "alert published but not marked",
                extra={"transaction_id": message.key, "error": str(exc)},
            )
            self.count("AlertMarkFailures", 1)
        return True
