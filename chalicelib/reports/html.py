"""The report as one self-contained HTML page: inline CSS and SVG charts, no script, no
external resource of any kind (it opens offline, from a mail or from S3).

Pure: the report dict in, the page out. Every number shown sits in an element whose
``data-path`` names where it comes from in the JSON (``quality.flagged.precision``,
``rules.0.hits``), and every bar of a chart is a ``rect.bar`` with its ``data-value``,
so that a browser test can compare what is drawn with report.json.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

WIDTH, HEIGHT, MARGIN = 640, 220, 32
BAR_ROW = 22
NOT_AVAILABLE = "&ndash;"
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;
margin:2rem auto;max-width:1000px;color:#1d2733;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;
border-bottom:1px solid #d5dbe3;padding-bottom:.3rem}.meta{color:#5b6776}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}.card{border:1px solid #d5dbe3;
border-radius:6px;padding:.6rem .9rem;min-width:9rem}.card .v{font-size:1.4rem;
font-weight:600}.card .k{color:#5b6776;font-size:.85rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}td,th{padding:.25rem .6rem;
border-bottom:1px solid #e6eaef;text-align:right}td:first-child,th:first-child{text-align:left}
svg{display:block;margin:.5rem 0}.bar{fill:#3d6fb6}.bar.block{fill:#c0392b}
.bar.review{fill:#e39b2d}.bar.allow{fill:#3f9a5a}.bar.significant{fill:#c0392b}
.bar.moderate{fill:#e39b2d}.bar.stable,.bar.insufficient{fill:#3f9a5a}
.axis{stroke:#8795a6}.threshold{stroke:#c0392b;stroke-dasharray:4 3}
.label{font-size:11px;fill:#3a4654}.note{color:#5b6776;font-size:.85rem}
"""


def _text(value: Any, kind: str) -> str:
    """A value as shown: counts with separators, ratios as percentages, None as a dash."""
    if value is None:
        return NOT_AVAILABLE
    if kind == "ratio":
        return f"{100 * float(value):.1f}%"
    if kind == "amount":
        return f"{float(value):,.2f}"
    if kind == "psi":
        return f"{float(value):.3f}"
    if kind == "score":
        return f"{float(value):.2f}"
    return f"{int(value):,}"


def number(value: Any, path: str, kind: str = "count") -> str:
    """A number in an element naming its place in the JSON."""
    return f'<span data-path="{escape(path)}">{_text(value, kind)}</span>'


def _card(label: str, value: Any, path: str, kind: str = "count") -> str:
    return (
        f'<div class="card"><div class="v">{number(value, path, kind)}</div>'
        f'<div class="k">{escape(label)}</div></div>'
    )


def _amounts(amounts: Mapping[str, float], path: str) -> str:
    if not amounts:
        return NOT_AVAILABLE
    return ", ".join(
        f"{number(v, f'{path}.{c}', 'amount')} {escape(c)}" for c, v in amounts.items()
    )


def _table(
    headers: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    path: str,
    columns: Sequence[tuple[str, str]],
) -> str:
    """A table of ``rows``; ``columns`` are (field, kind), kind ``text`` for strings."""
    if not rows:
        return '<p class="note">None on this day.</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        cells = []
        for field, kind in columns:
            if kind == "text":
                cells.append(f"<td>{escape(str(row.get(field, '')))}</td>")
            else:
                cells.append(f"<td>{number(row.get(field), f'{path}.{index}.{field}', kind)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def column_chart(
    chart: str, labels: Sequence[str], values: Sequence[float], classes: Sequence[str] = ()
) -> str:
    """Vertical bars, one per value, scaled to the largest."""
    peak = max([float(v) for v in values] + [0.0])
    top = peak or 1.0
    inner_w, inner_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN
    step = inner_w / max(len(values), 1)
    parts = [
        f'<svg data-chart="{chart}" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg">',
        f'<line class="axis" x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" '
        f'y2="{HEIGHT - MARGIN}"/>',
    ]
    every = max(1, len(labels) // 12)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = inner_h * float(value) / top
        x = MARGIN + i * step + step * 0.1
        css = f"bar {classes[i]}" if classes else "bar"
        parts.append(
            f'<rect class="{css}" data-label="{escape(label)}" data-value="{value}" '
            f'x="{x:.2f}" y="{HEIGHT - MARGIN - h:.2f}" width="{step * 0.8:.2f}" '
            f'height="{h:.2f}"><title>{escape(label)}: {value}</title></rect>'
        )
        if i % every == 0:
            parts.append(
                f'<text class="label" x="{x + step * 0.4:.2f}" y="{HEIGHT - MARGIN + 14}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append(f'<text class="label" x="{MARGIN}" y="{MARGIN - 8}">max {peak:g}</text></svg>')
    return "".join(parts)


def bar_chart(
    chart: str,
    labels: Sequence[str],
    values: Sequence[float],
    classes: Sequence[str] = (),
    threshold: float | None = None,
) -> str:
    """Horizontal bars, one row per value, scaled to the largest (and the threshold)."""
    top = max([float(v) for v in values] + [threshold or 0.0, 0.0]) or 1.0
    left, right = 200, 60
    inner_w = WIDTH - left - right
    height = MARGIN + BAR_ROW * len(values) + 8
    parts = [
        f'<svg data-chart="{chart}" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = MARGIN / 2 + i * BAR_ROW
        w = inner_w * float(value) / top
        css = f"bar {classes[i]}" if classes else "bar"
        parts.append(
            f'<text class="label" x="{left - 6}" y="{y + 14}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="{css}" data-label="{escape(label)}" data-value="{value}" '
            f'x="{left}" y="{y + 3}" width="{w:.2f}" height="{BAR_ROW - 6}">'
            f"<title>{escape(label)}: {value}</title></rect>"
            f'<text class="label" x="{left + w + 4:.2f}" y="{y + 14}">{value}</text>'
        )
    if threshold is not None:
        x = left + inner_w * threshold / top
        parts.append(
            f'<line class="threshold" x1="{x:.2f}" y1="4" x2="{x:.2f}" y2="{height - 4}"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _section(title: str, *content: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{''.join(content)}</section>"


def _summary(report: Mapping[str, Any]) -> str:
    counts = report["decisions"]["counts"]
    return _section(
        "Summary",
        '<div class="cards">',
        _card("transactions", report["volume"]["transactions"], "volume.transactions"),
        _card("customers", report["volume"]["customers"], "volume.customers"),
        _card("terminals", report["volume"]["terminals"], "volume.terminals"),
        *(_card(d, counts[d], f"decisions.counts.{d}") for d in ("allow", "review", "block")),
        _card("alerts raised", report["alerts"]["raised"], "alerts.raised"),
        _card(
            "fraud rate (labelled)", report["labels"]["fraud_rate"], "labels.fraud_rate", "ratio"
        ),
        "</div>",
        "<p>Amount: ",
        _amounts(report["volume"]["amount"], "volume.amount"),
        " &middot; blocked: ",
        _amounts(report["decisions"]["amount_blocked"], "decisions.amount_blocked"),
        " &middot; reviewed: ",
        _amounts(report["decisions"]["amount_reviewed"], "decisions.amount_reviewed"),
        "</p>",
    )


def _volumes(report: Mapping[str, Any]) -> str:
    counts = report["decisions"]["counts"]
    names = list(counts)
    return _section(
        "Volumes and decisions",
        "<h3>Decisions by type</h3>",
        column_chart("decisions", names, [counts[n] for n in names], names),
        "<h3>Transactions by hour (UTC)</h3>",
        column_chart(
            "volume-by-hour", [f"{h:02d}" for h in range(24)], report["volume"]["by_hour"]
        ),
    )


def _alerts_and_labels(report: Mapping[str, Any]) -> str:
    alerts, labels = report["alerts"], report["labels"]
    levels = alerts["by_severity"]
    return _section(
        "Alerts and feedback",
        "<p>Alerts raised ",
        number(alerts["raised"], "alerts.raised"),
        ", published ",
        number(alerts["published"], "alerts.published"),
        ", pending ",
        number(alerts["pending"], "alerts.pending"),
        ".</p>",
        column_chart("alerts-by-severity", list(levels), list(levels.values())),
        "<p>Labelled ",
        number(labels["labelled"], "labels.labelled"),
        " (",
        number(labels["labelled_share"], "labels.labelled_share", "ratio"),
        " of the day), frauds ",
        number(labels["frauds"], "labels.frauds"),
        ", genuine ",
        number(labels["genuine"], "labels.genuine"),
        "; fraud rate ",
        number(labels["fraud_rate"], "labels.fraud_rate", "ratio"),
        "; fraud amount ",
        _amounts(labels["amount_fraud"], "labels.amount_fraud"),
        ".</p>",
    )


QUALITY_COLUMNS = (
    ("true_positives", "count"),
    ("false_positives", "count"),
    ("false_negatives", "count"),
    ("precision", "ratio"),
    ("recall", "ratio"),
)
QUALITY_HEADERS = ("true pos.", "false pos.", "false neg.", "precision", "recall")


def _quality(report: Mapping[str, Any]) -> str:
    rows = [{"name": name, **values} for name, values in report["quality"].items()]
    body = []
    for row in rows:
        cells = "".join(
            f"<td>{number(row[f], f'quality.{row["name"]}.{f}', k)}</td>"
            for f, k in QUALITY_COLUMNS
        )
        body.append(f"<tr><td>{escape(row['name'])}</td>{cells}</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("decisions", *QUALITY_HEADERS))
    return _section(
        "Precision and recall on labelled transactions",
        f"<table><tr>{head}</tr>{''.join(body)}</table>",
        "<h3>Models (champion and challenger)</h3>",
        _table(
            ("version", "role", "transactions", "flagged", "labelled", *QUALITY_HEADERS),
            report["models"],
            "models",
            (
                ("version", "text"),
                ("role", "text"),
                ("transactions", "count"),
                ("flagged", "count"),
                ("labelled", "count"),
                *QUALITY_COLUMNS,
            ),
        ),
    )


def _rules(report: Mapping[str, Any]) -> str:
    top = report["top_rules"]
    chart = (
        bar_chart(
            "top-rules",
            [f"{r['rule_id']} ({r['mode']})" for r in top],
            [r["hits"] for r in top],
        )
        if top
        else ""
    )
    return _section(
        "Rules (active and shadow)",
        chart,
        _table(
            ("rule", "mode", "action", "hits", "labelled hits", *QUALITY_HEADERS),
            report["rules"],
            "rules",
            (
                ("rule_id", "text"),
                ("mode", "text"),
                ("action", "text"),
                ("hits", "count"),
                ("labelled_hits", "count"),
                *QUALITY_COLUMNS,
            ),
        ),
    )


def _entities(report: Mapping[str, Any]) -> str:
    def table(name: str, key: str) -> str:
        return _table(
            (key, "transactions", "flagged", "frauds", "mean risk", "amount"),
            report[name],
            name,
            (
                (key, "text"),
                ("transactions", "count"),
                ("flagged", "count"),
                ("frauds", "count"),
                ("mean_risk_score", "score"),
                ("amount", "amount"),
            ),
        )

    return _section(
        "Riskiest terminals and merchants",
        "<h3>Terminals</h3>",
        table("terminals", "terminal_id"),
        "<h3>Merchants</h3>",
        table("merchants", "merchant_id"),
    )


def _scores(report: Mapping[str, Any]) -> str:
    dist = report["score_distribution"]
    edges = dist["edges"]
    labels = [f"{edges[i]:.2f}" for i in range(len(dist["counts"]))]
    return _section(
        "Score distribution",
        column_chart("score-distribution", labels, dist["counts"]),
        '<p class="note">Transactions per score bin (lower edge shown).</p>',
    )


def _drift(report: Mapping[str, Any]) -> str:
    drift = report["drift"]
    if not drift["available"]:
        return _section(
            "Drift", '<p class="note">The active model\'s manifest has no training reference.</p>'
        )
    placed = [("drift.score", drift["score"])] if drift["score"] else []
    placed += [(f"drift.features.{i}", d) for i, d in enumerate(drift["features"])]
    body = "".join(
        f"<tr><td>{escape(d['name'])}</td><td>{number(d['psi'], f'{path}.psi', 'psi')}</td>"
        f"<td>{escape(d['status'])}</td><td>{number(d['sample'], f'{path}.sample')}</td></tr>"
        for path, d in placed
    )
    return _section(
        "Drift against the training data (PSI)",
        "<p>Reference: model ",
        escape(str(drift["reference_version"])),
        "; alert threshold ",
        number(drift["threshold"], "drift.threshold", "psi"),
        "; largest PSI ",
        number(drift["max_psi"], "drift.max_psi", "psi"),
        ".</p>",
        bar_chart(
            "drift",
            [d["name"] for _, d in placed],
            [d["psi"] for _, d in placed],
            [d["status"] for _, d in placed],
            threshold=drift["threshold"],
        ),
        "<table><tr><th>value</th><th>PSI</th><th>status</th><th>sample</th></tr>",
        body,
        "</table>",
    )


PARTS: tuple[Callable[[Mapping[str, Any]], str], ...] = (
    _summary,
    _volumes,
    _alerts_and_labels,
    _quality,
    _rules,
    _entities,
    _scores,
    _drift,
)


def render(report: Mapping[str, Any]) -> str:
    """The report as a self-contained HTML page."""
    title = f"Fraud report {report['date']}"
    return (
        "<!DOCTYPE html>"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="meta">Stage {escape(str(report["stage"]))} &middot; generated '
        f"{escape(str(report['generated_at']))} &middot; day in UTC, by transaction time</p>"
        + "".join(part(report) for part in PARTS)
        + "</body></html>"
    )
