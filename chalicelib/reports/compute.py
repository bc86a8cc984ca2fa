"""A day's report from its decision records (pure: records in, a JSON-ready dict out).

Every figure is defined in docs/reports.md. In short: a transaction is *flagged* when
its decision is ``review`` or ``block``; precision and recall are computed on the
*labelled* transactions of the day only (``label`` set by ``POST /v1/feedback``), and are
``None`` when undefined (nothing predicted, or no fraud labelled). A rule *predicts* fraud
when it fires; a model version predicts it when the decision it made (the champion's
stored decision, the challenger's shadow decision, rules included) is flagged.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chalicelib.alerts import severity
from chalicelib.reports.drift import drift_of

REPORT_VERSION = 1
DECISIONS = ("allow", "review", "block")
FLAGGED = frozenset({"review", "block"})
SEVERITIES = ("high", "medium", "low")
SCORE_BINS = 20
TOP = 10
RECORD_FIELDS = (
    "transaction_id",
    "event_time",
    "amount",
    "currency",
    "customer_id",
    "terminal_id",
    "merchant_id",
    "decision",
    "score",
    "risk_score",
    "reasons",
    "shadow_rules",
    "challenger",
    "model_version",
    "alert",
    "alert_published_at",
    "label",
    "features",
)
"""What the report reads of each decision record."""

Record = Mapping[str, Any]


@dataclass(frozen=True)
class ReportOptions:
    """What a report needs besides the records.

    Attributes
    ----------
    stage:
        The deployment stage.
    generated_at:
        ISO time of the computation.
    reference:
        The drift reference of the active model's manifest (``reference``), or None.
    reference_version:
        The model version whose reference it is.
    psi_threshold:
        PSI at or above which a drift is significant and alerts.
    """

    stage: str
    generated_at: str
    reference: Mapping[str, Any] | None = None
    reference_version: str | None = None
    psi_threshold: float = 0.25


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator`` rounded to 6 digits, None when the denominator is 0."""
    return round(numerator / denominator, 6) if denominator else None


def quality(predicted: Iterable[bool], actual: Iterable[bool]) -> dict[str, Any]:
    """Confusion counts, precision and recall of ``predicted`` against ``actual`` labels.

    >>> quality([True, True, False, False], [True, False, True, False])["precision"]
    0.5
    """
    pairs = Counter(zip(predicted, actual, strict=True))
    tp, fp = pairs[(True, True)], pairs[(True, False)]
    fn, tn = pairs[(False, True)], pairs[(False, False)]
    return {
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "true_negatives": tn,
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
    }


def _amounts(records: Iterable[Record]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for r in records:
        totals[str(r.get("currency") or "?")] += float(r.get("amount") or 0.0)
    return {currency: round(total, 2) for currency, total in sorted(totals.items())}


def _hour(record: Record) -> int:
    return int(record["event_time"]) // 3600 % 24


def _labelled(records: Sequence[Record]) -> list[Record]:
    return [r for r in records if r.get("label") is not None]


def _fraud(record: Record) -> bool:
    return bool(record.get("label"))


def volume(records: Sequence[Record]) -> dict[str, Any]:
    hours = Counter(_hour(r) for r in records)
    return {
        "transactions": len(records),
        "customers": len({r.get("customer_id") for r in records}),
        "terminals": len({r.get("terminal_id") for r in records}),
        "amount": _amounts(records),
        "by_hour": [hours[h] for h in range(24)],
    }


def decisions(records: Sequence[Record]) -> dict[str, Any]:
    counts = Counter(r["decision"] for r in records)
    return {
        "counts": {d: counts[d] for d in DECISIONS},
        "amount_blocked": _amounts(r for r in records if r["decision"] == "block"),
        "amount_reviewed": _amounts(r for r in records if r["decision"] == "review"),
    }


def alerts(records: Sequence[Record]) -> dict[str, Any]:
    raised = [r for r in records if r.get("alert")]
    published = sum(1 for r in raised if r.get("alert_published_at"))
    levels = Counter(severity(r["decision"], int(r["risk_score"])) for r in raised)
    return {
        "raised": len(raised),
        "published": published,
        "pending": len(raised) - published,
        "by_severity": {level: levels[level] for level in SEVERITIES},
    }


def labels(records: Sequence[Record]) -> dict[str, Any]:
    labelled = _labelled(records)
    frauds = sum(1 for r in labelled if _fraud(r))
    return {
        "labelled": len(labelled),
        "frauds": frauds,
        "genuine": len(labelled) - frauds,
        "fraud_rate": ratio(frauds, len(labelled)),
        "labelled_share": ratio(len(labelled), len(records)),
        "amount_fraud": _amounts(r for r in labelled if _fraud(r)),
    }


def decision_quality(records: Sequence[Record]) -> dict[str, Any]:
    labelled = _labelled(records)
    actual = [_fraud(r) for r in labelled]
    return {
        "flagged": quality((r["decision"] in FLAGGED for r in labelled), actual),
        "blocked": quality((r["decision"] == "block" for r in labelled), actual),
    }


def _rule_hits(record: Record) -> Iterable[tuple[str, str, str]]:
    """(rule_id, mode, action) of every rule that fired for ``record``."""
    for reason in record.get("reasons") or []:
        if reason.get("code") == "rule" and reason.get("rule_id"):
            yield str(reason["rule_id"]), "active", str(reason.get("action", ""))
    for hit in record.get("shadow_rules") or []:
        yield str(hit["rule_id"]), "shadow", str(hit.get("action", ""))


def rules(records: Sequence[Record]) -> list[dict[str, Any]]:
    """Every rule that fired on the day, most hits first."""
    fired: dict[tuple[str, str], set[str]] = defaultdict(set)
    actions: dict[tuple[str, str], str] = {}
    for r in records:
        for rule_id, mode, action in _rule_hits(r):
            fired[(rule_id, mode)].add(str(r["transaction_id"]))
            actions[(rule_id, mode)] = action
    labelled = _labelled(records)
    actual = [_fraud(r) for r in labelled]
    rows = []
    for (rule_id, mode), hits in fired.items():
        predicted = [str(r["transaction_id"]) in hits for r in labelled]
        rows.append(
            {
                "rule_id": rule_id,
                "mode": mode,
                "action": actions[(rule_id, mode)],
                "hits": len(hits),
                "labelled_hits": sum(predicted),
                **quality(predicted, actual),
            }
        )
    return sorted(rows, key=lambda row: (-row["hits"], row["mode"], row["rule_id"]))


def models(records: Sequence[Record]) -> list[dict[str, Any]]:
    """Each model version, champion or challenger, and the decisions it made or would have."""
    made: dict[tuple[str, str], list[tuple[Record, str]]] = defaultdict(list)
    for r in records:
        made[("champion", str(r.get("model_version")))].append((r, r["decision"]))
        shadow = r.get("challenger")
        if isinstance(shadow, Mapping) and shadow.get("version"):
            made[("challenger", str(shadow["version"]))].append((r, str(shadow["decision"])))
    rows = []
    for (role, version), pairs in sorted(made.items()):
        labelled = [(r, d) for r, d in pairs if r.get("label") is not None]
        rows.append(
            {
                "version": version,
                "role": role,
                "transactions": len(pairs),
                "flagged": sum(1 for _, d in pairs if d in FLAGGED),
                "labelled": len(labelled),
                **quality((d in FLAGGED for _, d in labelled), (_fraud(r) for r, _ in labelled)),
            }
        )
    return rows


def riskiest(records: Sequence[Record], key: str) -> list[dict[str, Any]]:
    """The ``TOP`` entities named by ``key`` with the most labelled frauds, then the most
    flagged transactions, then the highest mean risk score."""
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if r.get(key):
            groups[str(r[key])].append(r)
    rows: list[dict[str, Any]] = [
        {
            key: name,
            "transactions": len(rs),
            "flagged": sum(1 for r in rs if r["decision"] in FLAGGED),
            "frauds": sum(1 for r in rs if r.get("label") is True),
            "mean_risk_score": round(float(np.mean([float(r["risk_score"]) for r in rs])), 2),
            "amount": round(sum(float(r.get("amount") or 0.0) for r in rs), 2),
        }
        for name, rs in groups.items()
    ]
    rows.sort(key=lambda row: (-row["frauds"], -row["flagged"], -row["mean_risk_score"], row[key]))
    return rows[:TOP]


def score_distribution(records: Sequence[Record]) -> dict[str, Any]:
    """Counts of scores (and of labelled frauds) in ``SCORE_BINS`` equal bins of [0, 1]."""
    edges = np.linspace(0.0, 1.0, SCORE_BINS + 1)
    scores = np.array([float(r["score"]) for r in records], dtype=np.float64)
    frauds = np.array([float(r["score"]) for r in records if r.get("label") is True])
    counts, _ = np.histogram(scores, bins=edges)
    fraud_counts, _ = np.histogram(frauds, bins=edges)
    return {
        "edges": [round(float(e), 4) for e in edges],
        "counts": [int(c) for c in counts],
        "frauds": [int(c) for c in fraud_counts],
    }


def drift(records: Sequence[Record], options: ReportOptions) -> dict[str, Any]:
    """The score's and the main features' drift against the model's training reference."""
    section: dict[str, Any] = {
        "reference_version": options.reference_version,
        "threshold": options.psi_threshold,
        "available": options.reference is not None,
        "score": None,
        "features": [],
        "max_psi": None,
        "drifted": [],
    }
    ref = options.reference
    if ref is None:
        return section
    if ref.get("score"):
        scores = [float(r["score"]) for r in records]
        section["score"] = drift_of("score", ref["score"], scores, options.psi_threshold)
    for name, feature_ref in sorted((ref.get("features") or {}).items()):
        values = [
            float(r["features"][name])
            for r in records
            if isinstance(r.get("features"), Mapping) and r["features"].get(name) is not None
        ]
        section["features"].append(drift_of(name, feature_ref, values, options.psi_threshold))
    measured = [d for d in [section["score"], *section["features"]] if d is not None]
    if measured:
        section["max_psi"] = max(d["psi"] for d in measured)
    section["drifted"] = [d["name"] for d in measured if d["status"] == "significant"]
    return section


SECTIONS: tuple[tuple[str, Callable[[Sequence[Record]], Any]], ...] = (
    ("volume", volume),
    ("decisions", decisions),
    ("alerts", alerts),
    ("labels", labels),
    ("quality", decision_quality),
    ("rules", rules),
    ("models", models),
    ("terminals", lambda rs: riskiest(rs, "terminal_id")),
    ("merchants", lambda rs: riskiest(rs, "merchant_id")),
    ("score_distribution", score_distribution),
)


def build_report(day: str, records: Sequence[Record], options: ReportOptions) -> dict[str, Any]:
    """The report of ``day`` (ISO date) from its decision records (``RECORD_FIELDS``)."""
    report: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "date": day,
        "stage": options.stage,
        "generated_at": options.generated_at,
    }
    for name, section in SECTIONS:
        report[name] = section(records)
    report["top_rules"] = [
        {"rule_id": row["rule_id"], "mode": row["mode"], "hits": row["hits"]}
        for row in report["rules"][:TOP]
    ]
    report["drift"] = drift(records, options)
    return report
