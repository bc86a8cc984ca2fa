"""The report page in headless Chromium: the charts are drawn and show the JSON's numbers.

The page comes from the report of a generated day (decisions, labels, active and shadow
rules, a challenger, drift against a reference) and is opened from a file with the
network closed. Chromium is required: without it this test fails (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib.reports.compute import ReportOptions, build_report
from chalicelib.reports.drift import reference
from chalicelib.reports.html import render
from tests.browser.cdp import CHROMIUM, Browser

DAY = "2025-03-14"
START = 1741910400  # 2025-03-14T00:00:00Z

MEASURE = """(() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
  return {
    charts: [...document.querySelectorAll("svg[data-chart]")].map((svg) => ({
      chart: svg.dataset.chart,
      size: box(svg),
      bars: [...svg.querySelectorAll("rect.bar")].map((bar) => ({
        label: bar.dataset.label, value: Number(bar.dataset.value), size: box(bar),
      })),
    })),
    numbers: [...document.querySelectorAll("[data-path]")].map((e) => ({
      path: e.dataset.path, text: e.textContent, visible: box(e)[0] > 0,
    })),
    external: [...document.querySelectorAll("script, link, img, iframe, object, embed")].length
      + performance.getEntriesByType("resource").length,
  };
})()"""


def generated_day(count: int = 400, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    records = []
    for n in range(count):
        score = rng.betavariate(1.2, 6)
        decision = "block" if score > 0.6 else "review" if score > 0.35 else "allow"
        reasons = [{"code": "model_score", "message": "..."}]
        if rng.random() < 0.15:
            reasons.insert(
                0, {"code": "rule", "rule_id": rng.choice(["big", "night"]), "action": "review"}
            )
        shadow = [{"rule_id": "new_burst", "action": "block"}] if rng.random() < 0.1 else []
        labelled = rng.random() < 0.5
        records.append(
            {
                "transaction_id": f"t-{n}",
                "event_time": START + rng.randrange(86400),
                "amount": round(rng.lognormvariate(3.5, 1.0), 2),
                "currency": rng.choice(["EUR", "EUR", "USD"]),
                "customer_id": f"C-{rng.randrange(80)}",
                "terminal_id": f"T-{rng.randrange(30)}",
                "merchant_id": f"M-{rng.randrange(12)}",
                "decision": decision,
                "score": round(score, 6),
                "risk_score": round(score * 100),
                "reasons": reasons,
                "shadow_rules": shadow,
                "challenger": {
                    "version": "v2",
                    "score": score,
                    "decision": rng.choice(["allow", "review"]),
                },
                "model_version": "v1",
                "alert": decision != "allow",
                "alert_published_at": "2025-03-14T01:00:00" if rng.random() < 0.9 else None,
                "label": (rng.random() < score) if labelled else None,
                "features": {
                    "amount": rng.lognormvariate(4.5, 1.0),
                    "customer_nb_tx_1d": rng.randrange(6),
                },
            }
        )
    return records


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any], Path]:
    rng = random.Random(1)
    ref = {
        "features": {
            "amount": reference([rng.lognormvariate(3.5, 1.0) for _ in range(2000)]),
            "customer_nb_tx_1d": reference([rng.randrange(6) for _ in range(2000)]),
        },
        "score": reference([rng.betavariate(1.2, 6) for _ in range(2000)]),
    }
    options = ReportOptions("test", "2025-03-15T00:30:00+00:00", ref, "v1", 0.25)
    report = json.loads(json.dumps(build_report(DAY, generated_day(), options)))
    directory = tmp_path_factory.mktemp("report")
    (directory / "report.json").write_text(json.dumps(report))
    (directory / "report.html").write_text(render(report))
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    with Browser() as browser:
        browser.open(directory / "report.html")
        measured = browser.evaluate(MEASURE)
        browser.screenshot(directory / "report.png")
    return report, measured, directory


def at(report: dict[str, Any], path: str) -> Any:
    value: Any = report
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def shown(text: str) -> tuple[float | None, float]:
    """The number a text shows and half its last displayed digit (the rounding bound)."""
    text = text.strip()
    if text == "\u2013":
        return None, 0.0
    percent = text.endswith("%")
    digits = text.rstrip("%").replace(",", "")
    decimals = len(digits.partition(".")[2])
    value = float(digits) / (100 if percent else 1)
    return value, 0.5 * 10**-decimals / (100 if percent else 1) + 1e-12


def test_every_number_shown_is_the_jsons(page):
    report, measured, _ = page
    numbers = measured["numbers"]

    assert len(numbers) > 100
    for number in numbers:
        expected = at(report, number["path"])
        value, bound = shown(number["text"])
        assert number["visible"], number
        if expected is None:
            assert value is None, number
        else:
            assert value is not None and abs(value - float(expected)) <= bound, number


def test_charts_are_drawn_with_one_bar_per_value(page):
    report, measured, _ = page
    charts = {c["chart"]: c for c in measured["charts"]}
    drift = report["drift"]
    expected = {
        "decisions": list(report["decisions"]["counts"].values()),
        "volume-by-hour": report["volume"]["by_hour"],
        "alerts-by-severity": list(report["alerts"]["by_severity"].values()),
        "top-rules": [r["hits"] for r in report["top_rules"]],
        "score-distribution": report["score_distribution"]["counts"],
        "drift": [drift["score"]["psi"], *(d["psi"] for d in drift["features"])],
    }

    assert set(charts) == set(expected)
    for name, values in expected.items():
        chart = charts[name]
        assert min(chart["size"]) > 0, name
        assert [b["value"] for b in chart["bars"]] == pytest.approx(values), name
        vertical = name not in ("top-rules", "drift")
        lengths = [b["size"][1] if vertical else b["size"][0] for b in chart["bars"]]
        peak = max(values)
        for value, length in zip(values, lengths, strict=True):
            assert (length > 0) == (value > 0), (name, value, length)
        tallest = lengths[values.index(peak)]
        for value, length in zip(values, lengths, strict=True):
            assert length == pytest.approx(tallest * value / peak, rel=0.02, abs=0.6), name


def test_the_page_loads_nothing_from_outside(page):
    _, measured, directory = page
    html = (directory / "report.html").read_text()

    assert measured["external"] == 0
    assert not re.search(r"(?:src|href)\s*=|url\(|@import", html)


def test_the_drift_the_page_shows_is_the_significant_one(page):
    report, measured, _ = page

    assert report["drift"]["drifted"] == ["amount"]
    drift_bars = {
        b["label"]: b for c in measured["charts"] if c["chart"] == "drift" for b in c["bars"]
    }
    assert drift_bars["amount"]["value"] >= report["drift"]["threshold"]
