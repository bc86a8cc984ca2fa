"""Computing, storing and serving daily reports; the drift alert.

The scheduled function (``run_daily``) writes the report of the day before its run, and
again the report of ``recompute_days`` days before that, by when most of that day's
labels have arrived. When a report's drift is significant, it publishes one drift alert
for that day (``alert_type`` ``drift``), unless an earlier run already did: the stored
report remembers it (``drift.alerted_at``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from chalicelib.alerts import DRIFT_ALERT, AlertMessage, number_attribute, string_attribute
from chalicelib.decision_log import DecisionLog
from chalicelib.delivery.service import AlertDelivery
from chalicelib.errors import NotFoundError
from chalicelib.reports.compute import RECORD_FIELDS, ReportOptions, build_report
from chalicelib.reports.html import render
from chalicelib.reports.store import HTML_FILE, S3ReportStore

logger = logging.getLogger(__name__)

HIGH_DRIFT_FACTOR = 2.0
"""A drift alert is ``high`` when the largest PSI is at least twice the threshold."""


class ManifestSource(Protocol):
    def __call__(self) -> tuple[str, Mapping[str, Any]] | None:
        """The active model's version and manifest, or None when there is none."""
        ...


def drift_alert(report: Mapping[str, Any]) -> AlertMessage:
    """The drift alert of a report whose drift is significant."""
    drift = report["drift"]
    level = "high" if drift["max_psi"] >= HIGH_DRIFT_FACTOR * drift["threshold"] else "medium"
    measured = [d for d in [drift["score"], *drift["features"]] if d is not None]
    body = {
        "alert_type": DRIFT_ALERT,
        "severity": level,
        "date": report["date"],
        "stage": report["stage"],
        "reference_version": drift["reference_version"],
        "threshold": drift["threshold"],
        "max_psi": drift["max_psi"],
        "drifted": [
            {"name": d["name"], "psi": d["psi"]} for d in measured if d["status"] == "significant"
        ],
    }
    attributes = {
        "alert_type": string_attribute(DRIFT_ALERT),
        "severity": string_attribute(level),
        "max_psi": number_attribute(drift["max_psi"]),
    }
    return AlertMessage(DRIFT_ALERT, f"drift:{report['date']}", body, attributes)


@dataclass
class ReportService:
    """Daily reports of one stage (see the module documentation)."""

    decisions: DecisionLog
    store: S3ReportStore
    manifest: ManifestSource
    stage: str
    psi_threshold: float
    recompute_days: int = 7
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def compute(self, day: date) -> dict[str, Any]:
        """The report of ``day`` from the decisions table, now."""
        active = self.manifest()
        version, manifest = active if active else (None, {})
        options = ReportOptions(
            stage=self.stage,
            generated_at=self.clock().isoformat(),
            reference=manifest.get("reference"),
            reference_version=version,
            psi_threshold=self.psi_threshold,
        )
        records = self.decisions.day(day, RECORD_FIELDS)
        return build_report(day.isoformat(), records, options)

    def publish(self, day: date, alerts: AlertDelivery | None = None) -> dict[str, Any]:
        """Compute and store ``day``'s report; with ``alerts``, raise its drift alert
        once. Returns the report."""
        report = self.compute(day)
        report["drift"]["alerted_at"] = self._previous_alert(day)
        if alerts is not None and report["drift"]["drifted"] and not report["drift"]["alerted_at"]:
            alerts.send(drift_alert(report))
            report["drift"]["alerted_at"] = self.clock().isoformat()
        self.store.put(day.isoformat(), report, render(report))
        return report

    def run_daily(self, now: datetime, alerts: AlertDelivery) -> dict[str, Any]:
        """The scheduled run at ``now``: yesterday's report, and the recomputed one."""
        yesterday = now.astimezone(UTC).date() - timedelta(days=1)
        days = [yesterday]
        if self.recompute_days > 0:
            days.append(yesterday - timedelta(days=self.recompute_days))
        written = {}
        for day in days:
            report = self.publish(day, alerts)
            written[day.isoformat()] = {
                "transactions": report["volume"]["transactions"],
                "drifted": report["drift"]["drifted"],
            }
            logger.info(
                "report written", extra={"date": day.isoformat(), **written[day.isoformat()]}
            )
        return written

    def json(self, day: date) -> dict[str, Any]:
        """The stored report of ``day`` (``NotFoundError`` when there is none)."""
        return self.store.get_json(day.isoformat())

    def html(self, day: date) -> str:
        """The stored page of ``day`` (``NotFoundError`` when there is none)."""
        return self.store.get(day.isoformat(), HTML_FILE)

    def _previous_alert(self, day: date) -> str | None:
        try:
            return self.store.get_json(day.isoformat())["drift"].get("alerted_at")
        except NotFoundError:
            return None
