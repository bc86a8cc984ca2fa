"""Structured logs, metrics and traces from aws-lambda-powertools, under Chalice.

Chalice handlers take no Lambda context argument, so the powertools handler decorators
(``inject_lambda_context``, ``log_metrics``, ``capture_lambda_handler``) are composed
once and run from a Chalice middleware that hands them the invocation's context.
Loggers of ``chalicelib`` modules inherit the JSON formatting. Logs carry ids and
decisions, never card data, e-mail or IP addresses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Request

SERVICE = "fraud-detection"
NAMESPACE = "FraudDetection"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# The functions reach the outside through botocore only (DynamoDB, S3, SNS, SQS): patching
# X-Ray's other integrations (requests, httpx, sqlite3, database drivers...) would import
# them at cold start for nothing.
TRACED_MODULES = ("botocore",)
tracer = Tracer(service=SERVICE, patch_modules=TRACED_MODULES)


def _invoke(event: Any, context: Any, get_response: Callable[[Any], Any]) -> Any:
    return get_response(event)


_observed = tracer.capture_lambda_handler(
    logger.inject_lambda_context(clear_state=True)(
        metrics.log_metrics(capture_cold_start_metric=True)(_invoke)
    )
)


def install(app: Any) -> None:
    """Register the observing middleware on a Chalice ``app`` (every event type)."""
    copy_config_to_registered_loggers(source_logger=logger, include={"chalicelib"})
    logging.getLogger("chalicelib").setLevel(logger.log_level)

    @app.middleware("all")
    def observe(event: Any, get_response: Callable[[Any], Any]) -> Any:
        # HTTP events carry API Gateway's request context as ``.context``; their Lambda
        # context is ``app.lambda_context``. Other events carry the Lambda context.
        context = app.lambda_context if isinstance(event, Request) else event.context
        if context is None or not hasattr(context, "aws_request_id"):
            return get_response(event)
        return _observed(event, context, get_response=get_response)


def record_decision(response: dict[str, Any], replayed: bool) -> None:
    """Log one decision (ids and outcome only) and count it."""
    logger.info(
        "scored",
        transaction_id=response["transaction_id"],
        decision=response["decision"],
        risk_score=response["risk_score"],
        model_version=response["model_version"],
        rules_version=response["rules_version"],
        replayed=replayed,
    )
    count("Replayed" if replayed else f"Decision_{response['decision']}")


def count(name: str, value: float = 1) -> None:
    """Add to a count metric of the current invocation."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
