"""HTTP edge of the API: JSON bodies in, domain errors out as HTTP answers.

Only route code uses this module; it is the one place where domain exceptions become
status codes.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.errors import (
    ConcurrentUpdateError,
    ConfigurationError,
    FraudServiceError,
    NotFoundError,
    StoreError,
)
from chalicelib.model.registry import ModelUnavailableError
from chalicelib.transaction import FieldError, TransactionValidationError

logger = logging.getLogger(__name__)

JSON = "application/json"


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, **extra}


def json_body(request: Any) -> Any:
    """The request body decoded as JSON.

    Raises
    ------
    TransactionValidationError
        The body is empty or not JSON (field ``body``).
    """
    raw = request.raw_body
    if not raw:
        raise TransactionValidationError([FieldError("body", "is required")])
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise TransactionValidationError([FieldError("body", "must be valid JSON")]) from None


def respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, default=str),
        status_code=status,
        headers={"Content-Type": JSON, **(headers or {})},
    )


_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (NotFoundError, 404, "not_found"),
    (ConcurrentUpdateError, 409, "conflict"),
    (ModelUnavailableError, 503, "model_unavailable"),
    (StoreError, 503, "storage_unavailable"),
    (ConfigurationError, 500, "misconfigured"),
)


def json_api(view: Callable[..., Response]) -> Callable[..., Response]:
    """Route decorator mapping domain errors to JSON error answers."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except TransactionValidationError as exc:
            return respond(exc.to_dict(), 400)
        except FraudServiceError as exc:
            for error_type, status, code in _STATUS:
                if isinstance(exc, error_type):
                    if status >= 500:
                        logger.error("request failed", extra={"error": code, "detail": str(exc)})
                    return respond(error_body(code, str(exc)), status)
            to_dict = getattr(exc, "to_dict", None)
            body = to_dict() if callable(to_dict) else error_body("invalid_request", str(exc))
            return respond(body, 400)

    return wrapper
