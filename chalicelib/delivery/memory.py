"""In-memory markers and outbox (unit tests, benchmarks)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from chalicelib.alerts import AlertMessage
from chalicelib.delivery.service import OutboxEntry


@dataclass
class MemoryAlertMarks:
    """``AlertMarks`` in a dictionary: key -> (message id, time)."""

    marks: dict[str, tuple[str, str]] = field(default_factory=dict)

    def published(self, keys: Sequence[str]) -> set[str]:
        return {k for k in keys if k in self.marks}

    def mark(self, key: str, message_id: str, at: str) -> bool:
        if key in self.marks:
            return False
        self.marks[key] = (message_id, at)
        return True


@dataclass
class MemoryOutbox:
    """``Outbox`` in dictionaries. A received message is in flight until deleted, or
    until ``expire`` (its visibility timeout passing) makes it waiting again."""

    waiting: dict[str, AlertMessage] = field(default_factory=dict)
    in_flight: dict[str, AlertMessage] = field(default_factory=dict)
    _receipts: itertools.count = field(default_factory=itertools.count)

    def put(self, message: AlertMessage) -> None:
        self.waiting[f"r{next(self._receipts)}"] = message

    def receive(self, limit: int) -> list[OutboxEntry]:
        taken = list(self.waiting.items())[:limit]
        for receipt, _ in taken:
            self.in_flight[receipt] = self.waiting.pop(receipt)
        return [OutboxEntry(r, r, m) for r, m in taken]

    def delete(self, receipts: Sequence[str]) -> None:
        for receipt in receipts:
            self.in_flight.pop(receipt, None)

    def expire(self) -> None:
        """Messages received but not deleted become waiting again."""
        self.waiting.update(self.in_flight)
        self.in_flight.clear()
