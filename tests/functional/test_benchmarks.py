"""``make bench``'s runner at tiny sizes: the shape of results.json, sane figures, and the
hand-written parts of RESULTS.md kept."""

from __future__ import annotations

import json
import math

import pytest

from bench import run
from bench.records import Floor, figure

CONTRACT_FIELDS = {"name", "value", "unit", "baseline", "ratio"}
HAND_WRITTEN = "# Benchmark results\n\nIntro.\n\n## Model quality\n\nWhy the AP is 0.66.\n"


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("bench")
    (out / "RESULTS.md").write_text(HAND_WRITTEN)
    status = run.main(["--smoke", "--only", "path,bulk,calls,ruleset", "--out", str(out)])
    return status, json.loads((out / "results.json").read_text()), (out / "RESULTS.md").read_text()


def test_every_figure_follows_the_contract_with_its_ratio_to_a_same_run_baseline(smoke_run):
    status, figures, _ = smoke_run

    assert status in (0, 1)  # 1: a floor fails at these sizes; 2 would be a crash
    assert {f["section"] for f in figures} == {"path", "bulk", "calls", "ruleset"}
    for f in figures:
        assert set(f) >= CONTRACT_FIELDS, f
        assert isinstance(f["name"], str) and f["unit"] and math.isfinite(f["value"])
        if f["baseline"]:
            assert f["ratio"] == pytest.approx(f["value"] / f["baseline"], rel=2e-3)
        if f["floor"] is not None:
            assert isinstance(f["passed"], bool)


def test_the_figures_are_sane(smoke_run):
    _, figures, _ = smoke_run
    by_name = {f["name"]: f for f in figures}

    path = by_name["path_one_transaction_median"]
    assert 0 < path["value"] <= by_name["path_one_transaction_p99"]["value"]
    model = by_name["model_predict_proba_one_row_median"]
    assert 0 < model["value"] < model["baseline"]  # compiled beats scikit-learn
    assert all(by_name[f"sqs_batch_{n}_throughput"]["value"] > 0 for n in (10, 40))
    # The budget the functional tests hold: one read and one write per API call, and a
    # batch of ten shares them.
    assert by_name["api_dynamodb_calls_per_tx"]["value"] == 2
    assert by_name["api_dynamodb_calls_per_tx"]["baseline"] > 2
    assert by_name["sqs_dynamodb_calls_per_tx"]["value"] < 2
    assert (
        by_name["ruleset_evaluate_100_median"]["value"]
        < by_name["ruleset_evaluate_100_median"]["baseline"]
    )


def test_results_md_gets_the_tables_and_keeps_the_hand_written_sections(smoke_run):
    _, figures, text = smoke_run

    assert text.startswith("# Benchmark results\n\n" + run.BEGIN)
    assert text.endswith("## Model quality\n\nWhy the AP is 0.66.\n")
    assert "Intro." in text and "Machine:" in text and "Python" in text
    assert all(f"`{f['name']}`" in text for f in figures)


def test_a_second_run_replaces_the_generated_block_only():
    first = run.merge(HAND_WRITTEN, f"{run.BEGIN}\nold\n{run.END}")

    second = run.merge(first, f"{run.BEGIN}\nnew\n{run.END}")

    assert second.count(run.BEGIN) == 1 and "old" not in second and "new" in second
    assert second.replace(f"{run.BEGIN}\nnew\n{run.END}", "") == first.replace(
        f"{run.BEGIN}\nold\n{run.END}", ""
    )


@pytest.mark.parametrize(
    ("floor", "value", "baseline", "passed"),
    [
        (Floor(1.0), 0.9, None, True),
        (Floor(1.0), 1.1, None, False),
        (Floor(0.05, on="ratio"), 10.0, 250.0, True),
        (Floor(0.05, on="ratio"), 10.0, 150.0, False),
        (Floor(0.05, on="ratio"), 10.0, None, False),  # no baseline: not shown to hold
        (Floor(1.0, on="ratio", better="higher"), 100.0, 100.0, True),
        (Floor(200.0, better="higher"), 150.0, None, False),
    ],
)
def test_a_floor_holds_only_on_its_side(floor, value, baseline, passed):
    assert figure("x", value, "ms", baseline, floor)["passed"] is passed


def test_a_method_text_leaves_out_the_whole_title_paragraph():
    doc = "Item 3: cold start, compiled model against a scikit-learn\nestimator.\n\nRun ``x``."
    assert run.method_text(doc) == "Run `x`."
