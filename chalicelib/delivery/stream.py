"""The decisions table's stream as Lambda hands it over: which records ask for an alert.

Only insertions of a decision with ``alert: true`` matter (the event source's filter
drops the others on AWS, ``ALERT_FILTER_PATTERN``; they are skipped here too, for the
local worker and for safety). Updates (labels, published markers) never raise alerts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalicelib.delivery.service import PendingAlert
from chalicelib.state.dynamodb import item_from_dynamo

INSERT = "INSERT"
# The event source mapping's filter (FilterCriteria) on AWS: insertions with alert true.
ALERT_FILTER_PATTERN = json.dumps(
    {"eventName": [INSERT], "dynamodb": {"NewImage": {"alert": {"BOOL": [True]}}}}
)


def pending_alerts(event: Mapping[str, Any]) -> list[PendingAlert]:
    """The alerts of a DynamoDB stream event, in stream order."""
    alerts = []
    for record in event.get("Records", []):
        change = record.get("dynamodb", {})
        image = change.get("NewImage") or {}
        if record.get("eventName") != INSERT or not image.get("alert", {}).get("BOOL"):
            continue
        alerts.append(PendingAlert(str(change["SequenceNumber"]), item_from_dynamo(image)))
    return alerts
