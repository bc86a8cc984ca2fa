"""Exception hierarchy of the runtime package.

Route code turns these into HTTP errors; nothing else does.
"""

from __future__ import annotations


class FraudServiceError(Exception):
    """Base class of every error raised on purpose by ``chalicelib``."""


class ConfigurationError(FraudServiceError):
    """A required setting is missing or malformed."""


class NotFoundError(FraudServiceError):
    """The requested resource does not exist."""


class StoreError(FraudServiceError):
    """A storage back end failed in a way the caller cannot fix by changing its input."""


class ConcurrentUpdateError(StoreError):
    """A conditional write lost a race; the operation may be retried from a fresh read."""
