"""Alerts: what subscribers receive, and the SNS topic they receive it from.

Two kinds of alert share the topic, told apart by the ``alert_type`` attribute:

* ``decision``: one per stored decision that asks for an alert (review, block, or an
  ``alert`` rule that fired). Body (JSON): ``alert_type``, ``transaction_id``, ``decision``,
  ``severity``, ``score``, ``risk_score``, ``reasons``, ``amount``, ``currency``,
  ``customer_id``, ``terminal_id``, ``timestamp``, ``decided_at``, ``model_version``,
  ``rules_version``. Attributes: ``alert_type``, ``decision``, ``severity`` (String),
  ``risk_score``, ``amount`` (Number), ``currency`` (String).
* ``drift``: the daily report found the score or a feature drifting from the training data
  (``chalicelib.reports.drift``). Attributes: ``alert_type``, ``severity``, ``max_psi``.

How decision alerts reach the topic without being lost is ``chalicelib.delivery``'s job
(the SNS topic is ``chalicelib.delivery.sns``); this module formats them (pure).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

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
    "decided_at",
    "model_version",
    "rules_version",
)
HIGH_RISK_SCORE = 80
DECISION_ALERT = "decision"
DRIFT_ALERT = "drift"


class AlertError(FraudServiceError):
    """An alert could not be published."""


class TransientAlertError(AlertError):
    """Publishing failed in a way that may pass when retried (throttling, outage)."""


class AlertMessage(NamedTuple):
    """One alert as published: ``key`` identifies it (a transaction id for a decision
    alert), ``attributes`` are SNS message attributes."""

    kind: str
    key: str
    body: dict[str, Any]
    attributes: dict[str, dict[str, str]]

    def to_json(self) -> str:
        """The message as stored on the outbox queue."""
        return json.dumps(
            {"kind": self.kind, "key": self.key, "body": self.body, "attributes": self.attributes},
            default=str,
        )

    @classmethod
    def from_json(cls, text: str) -> AlertMessage:
        """The message ``to_json`` wrote (``AlertError`` when it is not one)."""
        try:
            data = json.loads(text)
            return cls(str(data["kind"]), str(data["key"]), data["body"], data["attributes"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise AlertError(f"not an outbox alert: {exc}") from exc


def severity(decision: str, risk: int) -> str:
    """``high`` for blocks and very risky reviews, ``medium`` for other reviews, else ``low``."""
    if decision == "block" or risk >= HIGH_RISK_SCORE:
        return "high"
    return "medium" if decision == "review" else "low"


def string_attribute(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def number_attribute(value: float) -> dict[str, str]:
    return {"DataType": "Number", "StringValue": str(value)}


def decision_alert(record: Mapping[str, Any]) -> AlertMessage:
    """The alert of a stored decision record."""
    risk = int(record["risk_score"])
    level = severity(record["decision"], risk)
    body = {"alert_type": DECISION_ALERT, **{name: record.get(name) for name in ALERT_FIELDS}}
    body["severity"] = level
    attributes = {
        "alert_type": string_attribute(DECISION_ALERT),
        "decision": string_attribute(record["decision"]),
        "severity": string_attribute(level),
        "risk_score": number_attribute(risk),
    }
    if record.get("amount") is not None:
        attributes["amount"] = number_attribute(float(record["amount"]))
    if record.get("currency"):
        attributes["currency"] = string_attribute(str(record["currency"]))
    return AlertMessage(DECISION_ALERT, str(record["transaction_id"]), body, attributes)


def alert_message(record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The alert body and SNS message attributes for a stored decision record."""
    message = decision_alert(record)
    return message.body, message.attributes


class Topic(Protocol):
    """Where alerts are published."""

    def send(self, message: AlertMessage) -> str:
        """Publish ``message``; returns the topic's message id.

        Raises
        ------
        TransientAlertError
            The topic may accept it later (throttled, unavailable, unreachable).
        AlertError
            It refused the message for good.
        """
        ...


class AlertPublisher(Protocol):
    """What the scoring service hands the alerts of decisions it stored, when it is given
    one (offline replays); deployed functions leave delivery to the decisions stream."""

    def publish(self, record: Mapping[str, Any]) -> None:
        """Publish the alert of ``record`` (raises ``AlertError`` on failure)."""
        ...


class MemoryAlertPublisher:
    """Keeps alerts in a list (unit tests, offline replays)."""

    def __init__(self) -> None:
        self.messages: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def publish(self, record: Mapping[str, Any]) -> None:
        self.messages.append(alert_message(record))
