"""Bounded retries with exponential back-off and full jitter (pure)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and how patiently, a transient failure is retried.

    Attempt ``n`` (from 1) that fails transiently is followed by a pause drawn uniformly
    from ``[0, min(max_delay, base_delay * 2 ** (n - 1))]`` seconds ("full jitter"), up to
    ``attempts`` attempts in all. With the defaults a failing call costs at most
    0.2 + 0.4 + 0.8 = 1.4 s of pauses over four attempts.

    Attributes
    ----------
    attempts:
        Attempts in all (at least 1).
    base_delay, max_delay:
        Seconds.
    """

    attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 2.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    jitter: Callable[[float], float] = field(
        default=lambda ceiling: random.uniform(0, ceiling),  # noqa: S311 (not security)
        repr=False,
        compare=False,
    )

    def delay(self, attempt: int) -> float:
        """Upper bound of the pause after failed attempt ``attempt`` (from 1).

        >>> RetryPolicy().delay(1), RetryPolicy().delay(3), RetryPolicy().delay(10)
        (0.2, 0.8, 2.0)
        """
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))

    def call(self, operation: Callable[[], T], transient: type[Exception]) -> T:
        """``operation()``, retried while it raises ``transient`` and attempts remain.

        The last ``transient`` error, or any other error, propagates.
        """
        attempt = 1
        while True:
            try:
                return operation()
            except transient:
                if attempt >= self.attempts:
                    raise
                self.sleep(self.jitter(self.delay(attempt)))
                attempt += 1
