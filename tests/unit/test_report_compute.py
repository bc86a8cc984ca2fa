"""Report figures against independent computations (pandas, plain loops) over generated days."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest

from chalicelib.reports.compute import ReportOptions, build_report
from chalicelib.reports.drift import proportions, psi, quantile_edges, reference, status
from tests.browser.test_report_page import generated_day

OPTIONS = ReportOptions("test", "2025-03-15T00:00:00+00:00")


def brute_psi(expected, actual_values, edges) -> float:
    counts = [0] * (len(edges) + 1)
    for value in actual_values:
        counts[sum(1 for edge in edges if value > edge)] += 1
    total = sum(counts)
    value = 0.0
    for e, c in zip(expected, counts, strict=True):
        a = max(c / total, 1e-4)
        e = max(e, 1e-4)
        value += (a - e) * math.log(a / e)
    return value


@pytest.mark.parametrize("seed", range(5))
def test_psi_equals_a_plain_loop_over_bins(seed):
    rng = random.Random(seed)
    train = [rng.gauss(0, 1) for _ in range(1000)]
    day = [rng.gauss(rng.uniform(-1, 1), rng.uniform(0.5, 2)) for _ in range(300)]
    ref = reference(train)

    assert psi(ref["proportions"], proportions(day, ref["edges"])) == pytest.approx(
        brute_psi(ref["proportions"], day, ref["edges"]), abs=1e-5
    )
    assert len(quantile_edges(train)) == 9 and sum(ref["proportions"]) == pytest.approx(1.0)


def test_status_follows_the_thresholds_and_the_sample():
    assert [status(v, 500, 0.25) for v in (0.05, 0.1, 0.24, 0.25)] == [
        "stable",
        "moderate",
        "moderate",
        "significant",
    ]
    assert status(5.0, 199, 0.25) == "insufficient"


@pytest.mark.parametrize("seed", range(3))
def test_report_figures_equal_pandas(seed):
    records = generated_day(300, seed)
    report = build_report("2025-03-14", records, OPTIONS)
    frame = pd.DataFrame(records)
    labelled = frame[frame["label"].notna()].copy()
    labelled["fraud"] = labelled["label"].astype(bool)
    flagged = labelled["decision"].isin(["review", "block"])

    assert (
        report["decisions"]["counts"]
        == frame["decision"]
        .value_counts()
        .reindex(["allow", "review", "block"], fill_value=0)
        .to_dict()
    )
    blocked = frame[frame["decision"] == "block"].groupby("currency")["amount"].sum()
    assert report["decisions"]["amount_blocked"] == pytest.approx(blocked.round(2).to_dict())
    tp = int((flagged & labelled["fraud"]).sum())
    assert report["quality"]["flagged"]["precision"] == pytest.approx(tp / flagged.sum(), abs=1e-6)
    assert report["quality"]["flagged"]["recall"] == pytest.approx(
        tp / labelled["fraud"].sum(), abs=1e-6
    )
    assert report["labels"]["fraud_rate"] == pytest.approx(labelled["fraud"].mean(), abs=1e-6)
    hours = pd.to_datetime(frame["event_time"], unit="s").dt.hour.value_counts()
    assert report["volume"]["by_hour"] == [int(hours.get(h, 0)) for h in range(24)]
    counts, _ = np.histogram(frame["score"], bins=np.linspace(0, 1, 21))
    assert report["score_distribution"]["counts"] == counts.tolist()
    challenger = labelled["challenger"].map(lambda c: c["decision"] in ("review", "block"))
    (row,) = [m for m in report["models"] if m["role"] == "challenger"]
    assert row["true_positives"] == int((challenger & labelled["fraud"]).sum())
    hits = frame["shadow_rules"].map(bool)
    (shadow,) = [r for r in report["rules"] if r["mode"] == "shadow"]
    assert shadow["hits"] == int(hits.sum())
    assert shadow["labelled_hits"] == int(hits[labelled.index].sum())
    terminals = frame.groupby("terminal_id").agg(
        frauds=("label", lambda s: int((s == True).sum())),  # noqa: E712 (None stays out)
        flagged=("decision", lambda s: int(s.isin(["review", "block"]).sum())),
    )
    top = report["terminals"][0]
    assert top["frauds"] == terminals["frauds"].max()
    assert top["flagged"] == terminals[terminals["frauds"] == top["frauds"]]["flagged"].max()


def test_an_empty_day_has_a_report_without_ratios():
    report = build_report("2025-03-14", [], OPTIONS)

    assert report["volume"]["transactions"] == 0
    assert report["quality"]["flagged"]["precision"] is None
    assert report["labels"]["fraud_rate"] is None and report["drift"]["available"] is False
