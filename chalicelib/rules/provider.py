"""The running function's view of the rule set, cached across invocations.

At most every ``refresh_seconds`` the provider reads the head (one ``GetItem`` of a tiny
item); only when the head names a new version does it read that version (one more
``GetItem``) and compile it. A change is therefore seen within ``refresh_seconds`` plus one
request, and costs the scoring path nothing per transaction. When the store cannot be
read, the rule set already compiled keeps serving; a function that never loaded one fails
(``RulesUnavailableError``, HTTP 503) rather than decide without its rules.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from chalicelib.errors import NotFoundError, StoreError
from chalicelib.rules.ruleset import CompiledRuleSet
from chalicelib.rules.store import EMPTY_VERSION, RuleSetVersion, RuleStore

logger = logging.getLogger(__name__)


class RulesUnavailableError(StoreError):
    """No rule set could ever be read by this function."""


class RuleSetProvider:
    """Scoring's ``RuleSource``: the compiled rule set of the current version.

    Parameters
    ----------
    store:
        Where versions live.
    build:
        Compiles a version (``CompiledRuleSet`` with the service's schema and keys).
    refresh_seconds:
        How long the loaded version is trusted before the head is read again.
    clock:
        Monotonic seconds (injected by tests).
    """

    def __init__(
        self,
        store: RuleStore,
        build: Callable[[RuleSetVersion], CompiledRuleSet],
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.build = build
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._rules: CompiledRuleSet | None = None
        self._version: int | None = None
        self._checked_at: float | None = None

    def current(self) -> CompiledRuleSet:
        """The rule set to score with.

        Raises
        ------
        RulesUnavailableError
            The store could not be read and no rule set was ever loaded.
        """
        now = self.clock()
        if self._checked_at is None or now - self._checked_at >= self.refresh_seconds:
            self._refresh()
            # Until a rule set is loaded, every call tries again.
            self._checked_at = now if self._rules is not None else None
        if self._rules is None:
            raise RulesUnavailableError("the rule set cannot be read")
        return self._rules

    def invalidate(self) -> None:
        """Read the head at the next ``current()`` (after a change made by this function)."""
        self._checked_at = None

    def _refresh(self) -> None:
        try:
            head = self.store.head()
            if head == self._version:
                return
            version = self.store.read(head) if head else EMPTY_VERSION
        except (StoreError, NotFoundError) as exc:
            logger.error("cannot read the rule set; serving version %s: %s", self._version, exc)
            return
        rules = self.build(version)
        for rule_id, error in rules.refused.items():
            logger.error("rule %s of version %s refused: %s", rule_id, head, error)
        logger.info("loaded rule set version %s", head)
        self._rules, self._version = rules, head
