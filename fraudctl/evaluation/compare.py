"""Champion against challenger on labelled feedback (``fraudctl model compare``).

Each labelled decision that was scored in shadow holds both models' score and decision:
the champion's as stored, the challenger's as it would have decided (rules included).
Decisions are grouped by the pair of versions that scored them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fraudctl.evaluation.metrics import decision_figures, ranking_figures

COLUMNS = (
    ("AUC", "auc"),
    ("AP", "average_precision"),
    ("precision", "flagged_precision"),
    ("recall", "flagged_recall"),
    ("review", "review_share"),
    ("block", "block_share"),
)


def _figures(labels: np.ndarray, scores: list[float], decisions: list[str]) -> dict[str, float]:
    return {
        **ranking_figures(labels, np.asarray(scores, dtype=np.float64)),
        **decision_figures(np.asarray(decisions), labels),
    }


def compare(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Both models' figures per (champion, challenger) pair of versions, and agreement.

    ``records`` are labelled decisions (``feedback.labelled_decisions``); those without a
    challenger are only counted.
    """
    shadowed = [r for r in records if isinstance(r.get("challenger"), Mapping)]
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for record in shadowed:
        key = (str(record["model_version"]), str(record["challenger"]["version"]))
        groups.setdefault(key, []).append(record)
    pairs = []
    for (champion, challenger), rows in sorted(groups.items()):
        labels = np.array([bool(r["label"]) for r in rows], dtype=np.int8)
        shadow = [r["challenger"] for r in rows]
        decisions = [r["decision"] for r in rows]
        pairs.append(
            {
                "champion": {
                    "version": champion,
                    **_figures(labels, [r["score"] for r in rows], decisions),
                },
                "challenger": {
                    "version": challenger,
                    **_figures(
                        labels, [s["score"] for s in shadow], [s["decision"] for s in shadow]
                    ),
                },
                "rows": len(rows),
                "frauds": int(labels.sum()),
                "agreement": float(
                    np.mean([d == s["decision"] for d, s in zip(decisions, shadow, strict=True)])
                ),
            }
        )
    return {
        "labelled": len(records),
        "labelled_without_challenger": len(records) - len(shadowed),
        "pairs": pairs,
    }


def _cell(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def report(comparison: Mapping[str, Any]) -> str:
    """The comparison as Markdown tables, one per pair of versions."""
    lines = [
        f"{comparison['labelled']:,} labelled decisions, "
        f"{comparison['labelled_without_challenger']:,} of them without a challenger."
    ]
    header = " | ".join(name for name, _ in COLUMNS)
    for pair in comparison["pairs"]:
        lines += [
            "",
            f"{pair['rows']:,} decisions scored by both ({pair['frauds']:,} frauds); "
            f"same decision for {pair['agreement']:.1%} of them.",
            "",
            f"| model | version | {header} |",
            "|---|---|" + "---|" * len(COLUMNS),
        ]
        for role in ("champion", "challenger"):
            figures = pair[role]
            cells = " | ".join(_cell(figures[key]) for _, key in COLUMNS)
            lines.append(f"| {role} | {figures['version']} | {cells} |")
    return "\n".join(lines)
