"""Alerts: one message per review/block decision, with attributes subscribers filter on.

Body (JSON): transaction_id, decision, severity, score, risk_score, reasons, amount,
currency, customer_id, terminal_id, timestamp, model_version, rules_version.
Message attributes: ``decision`` (String), ``severity`` (String), ``risk_score`` (Number).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import FraudServiceError

ALERT_FIELDS = (
    "transaction_id",
    "decision",
    "score",
    "risk_score",
    "reasons",
    "amount",
    "currency",
    "customer_id",
    "terminal_id",
    "timestamp",
    "model_version",
    "rules_version",
)
HIGH_RISK_SCORE = 80


class AlertError(FraudServiceError):
    """An alert could not be published."""


def severity(decision: str, risk: int) -> str:
    """``high`` for blocks and very risky reviews, ``medium`` for other reviews, else ``low``."""
    if decision == "block" or risk >= HIGH_RISK_SCORE:
        return "high"
    return "medium" if decision == "review" else "low"


def alert_message(record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The alert body and SNS message attributes for a stored decision record."""
    level = severity(record["decision"], int(record["risk_score"]))
    body = {name: record.get(name) for name in ALERT_FIELDS}
    body["severity"] = level
    attributes = {
        "decision": {"DataType": "String", "StringValue": record["decision"]},
        "severity": {"DataType": "String", "StringValue": level},
        "risk_score": {"DataType": "Number", "StringValue": str(int(record["risk_score"]))},
    }
    return body, attributes


class AlertPublisher(Protocol):
    def publish(self, record: Mapping[str, Any]) -> None:
        """Publish the alert of ``record`` (raises ``AlertError`` on failure)."""
        ...


class SnsAlertPublisher:
    """Publishes alerts to an SNS topic (the client retries transient errors, bounded)."""

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self.sns = sns
        self.topic_arn = topic_arn
        self.published = 0

    def publish(self, record: Mapping[str, Any]) -> None:
        body, attributes = alert_message(record)
        try:
            self.sns.publish(
                TopicArn=self.topic_arn,
                Message=json.dumps(body, default=str),
                MessageAttributes=attributes,
            )
        except (ClientError, BotoCoreError) as exc:
            raise AlertError(f"alert for {record['transaction_id']} not published: {exc}") from exc
        self.published += 1


class MemoryAlertPublisher:
    """Keeps alerts in a list (unit tests, offline replays)."""

    def __init__(self) -> None:
        self.messages: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def publish(self, record: Mapping[str, Any]) -> None:
        self.messages.append(alert_message(record))
