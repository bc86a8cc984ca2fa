"""Alert delivery with in-memory markers and outbox and a topic that fails on demand."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from chalicelib.alerts import AlertError, AlertMessage, TransientAlertError
from chalicelib.delivery.memory import MemoryAlertMarks, MemoryOutbox
from chalicelib.delivery.retry import RetryPolicy
from chalicelib.delivery.service import AlertDelivery, MarkError, OutboxError, PendingAlert


@dataclass
class Topic:
    """Fails the first ``failures`` sends with ``error``; keeps what it accepted."""

    failures: int = 0
    error: type[AlertError] = TransientAlertError
    sent: list[str] = field(default_factory=list)
    attempts: int = 0

    def send(self, message: AlertMessage) -> str:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise self.error("refused")
        self.sent.append(message.key)
        return f"m-{len(self.sent)}"


class BrokenOutbox(MemoryOutbox):
    def put(self, message: AlertMessage) -> None:
        raise OutboxError("down")


class BrokenMarks(MemoryAlertMarks):
    def published(self, keys):
        raise MarkError("down")


def alert(n: int, decision: str = "block") -> PendingAlert:
    record = {"transaction_id": f"t{n}", "decision": decision, "risk_score": 90, "amount": 5.0}
    return PendingAlert(str(100 + n), record)


def delivery(topic: Topic, marks=None, outbox=None, sleeps=None) -> AlertDelivery:
    pauses = [] if sleeps is None else sleeps
    return AlertDelivery(
        topic,
        marks if marks is not None else MemoryAlertMarks(),
        outbox if outbox is not None else MemoryOutbox(),
        RetryPolicy(sleep=pauses.append, jitter=lambda ceiling: ceiling),
    )


def test_publishes_in_order_and_marks_each_alert_once():
    topic, marks = Topic(), MemoryAlertMarks()
    service = delivery(topic, marks)

    first = service.deliver([alert(1), alert(2), alert(1)])
    again = service.deliver([alert(1), alert(2)])

    assert topic.sent == ["t1", "t2"] and first.published == ["t1", "t2"]
    assert first.skipped == ["t1"] and again.skipped == ["t1", "t2"]
    assert set(marks.marks) == {"t1", "t2"}


def test_transient_failures_back_off_exponentially_within_the_attempts():
    pauses: list[float] = []
    topic = Topic(failures=3)

    outcome = delivery(topic, sleeps=pauses).deliver([alert(1)])

    assert outcome.published == ["t1"] and pauses == [0.2, 0.4, 0.8]


def test_an_alert_refused_after_every_attempt_is_parked_and_not_marked():
    topic, marks, outbox = Topic(failures=99), MemoryAlertMarks(), MemoryOutbox()

    outcome = delivery(topic, marks, outbox).deliver([alert(1), alert(2)])

    assert outcome.outboxed == ["t1", "t2"] and topic.attempts == 8
    assert [m.key for m in outbox.waiting.values()] == ["t1", "t2"] and marks.marks == {}


def test_a_permanent_refusal_is_not_retried():
    topic = Topic(failures=1, error=AlertError)

    outcome = delivery(topic).deliver([alert(1)])

    assert outcome.outboxed == ["t1"] and topic.attempts == 1


def test_stream_is_handed_back_from_the_alert_that_could_not_be_kept():
    topic = Topic(failures=99)
    outcome = delivery(topic, outbox=BrokenOutbox()).deliver([alert(1), alert(2)])

    assert outcome.failed_from == "101"
    assert outcome.batch_response() == {"batchItemFailures": [{"itemIdentifier": "101"}]}


def test_unreadable_markers_hand_the_whole_batch_back():
    outcome = delivery(Topic(), marks=BrokenMarks()).deliver([alert(1), alert(2)])

    assert outcome.failed_from == "101" and outcome.published == []


def test_drain_publishes_parked_alerts_drops_published_ones_and_keeps_failures():
    marks, outbox = MemoryAlertMarks(), MemoryOutbox()
    delivery(Topic(failures=99), marks, outbox).deliver([alert(1), alert(2), alert(3)])
    marks.mark("t2", "m-0", "earlier")  # a stream retry published t2 meanwhile

    failing = delivery(Topic(failures=99), marks, outbox).drain()
    outbox.expire()
    healthy_topic = Topic()
    healthy = delivery(healthy_topic, marks, outbox).drain()

    assert failing.to_dict() == {
        "received": 3,
        "published": 0,
        "dropped_as_published": 1,
        "failed": 2,
    }
    assert healthy.published == 2 and healthy_topic.sent == ["t1", "t3"]
    assert outbox.waiting == {} and outbox.in_flight == {}
    assert set(marks.marks) == {"t1", "t2", "t3"}


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5])
def test_retry_delay_doubles_up_to_its_ceiling(attempt):
    policy = RetryPolicy(base_delay=0.5, max_delay=2.0)

    assert policy.delay(attempt) == min(2.0, 0.5 * 2 ** (attempt - 1))
