"""What a model costs a transaction at run time: load, score, explain, shadow.

Run from the repository root: ``.venv/bin/python -m bench.bench_serving [--calls N]``.
Trains small artifacts on simulated data (1,000 customers, 63 days), then times per
transaction (batch of one, as the API scores): ``LoadedModel.score`` with and without an
isolation forest, ``feature_reasons`` (the explanation in words), and the challenger's
shadow score; and the time to verify and load each artifact (a cold start's share).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from chalicelib.explain import feature_reasons
from chalicelib.features.spec import feature_definitions
from chalicelib.model.artifact import MODEL_FILE, load_directory
from chalicelib.shadow import ShadowScores
from fraudctl.data import read_transactions, select_days
from fraudctl.simulate import SimulationConfig, simulate, write_csv
from fraudctl.training.featuresets import HANDBOOK_SET, features_for
from fraudctl.training.fitting import ModelSpec
from fraudctl.training.pipeline import TrainingConfig, train_file
from fraudctl.training.thresholds import ThresholdPolicy

MODELS = {
    "logistic": ModelSpec(kind="logistic"),
    "forest (100 trees, defaults)": ModelSpec(kind="forest", jobs=2),
    "forest + isolation forest": ModelSpec(kind="forest", anomaly=True, jobs=2),
    "boosting": ModelSpec(kind="boosting"),
    "isolation forest only": ModelSpec(kind="anomaly", jobs=2),
}


def median_us(call, rows: list, repeats: int) -> float:
    call(rows[0])
    times = []
    for index in range(repeats):
        start = time.perf_counter()
        call(rows[index % len(rows)])
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    calls = parser.parse_args().calls
    workspace = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    data = workspace / "sim.csv.gz"
    write_csv(simulate(SimulationConfig(customers=1_000, days=63, seed=5)), data)
    frame = read_transactions(data)
    rows = features_for(frame, HANDBOOK_SET)[select_days(frame, "2025-02-26", None).to_numpy()]
    payloads = [dict(zip(HANDBOOK_SET, r, strict=True)) for r in rows[list(HANDBOOK_SET)].values]
    definitions = feature_definitions()
    print(f"{len(payloads):,} feature rows; median per transaction (batch of one)\n")
    print("| model | artifact | load | score | score + reasons | nodes |")
    print("|---|---|---|---|---|---|")
    loaded = {}
    for label, spec in MODELS.items():
        out = workspace / label.replace(" ", "_")
        policy = ThresholdPolicy(block_rule="rate" if spec.kind == "anomaly" else "precision")
        train_file(data, TrainingConfig("2025-01-29", "2025-02-12", spec, policy), out)
        start = time.perf_counter()
        model = load_directory(out)
        load_ms = (time.perf_counter() - start) * 1e3
        loaded[label] = model

        def score(values, model=model):
            return model.score([values])

        def explain(values, model=model):
            scored = model.score([values])
            return feature_reasons(model, scored.inputs[0], values, definitions, "EUR")

        trees = getattr(model.scorer.deciding_model, "trees", None)
        print(
            f"| {label} | {(out / MODEL_FILE).stat().st_size / 1024:,.0f} KiB | {load_ms:.0f} ms "
            f"| {median_us(score, payloads, calls):.0f} us "
            f"| {median_us(explain, payloads, calls):.0f} us "
            f"| {len(trees.value) if trees is not None else '-'} |"
        )
    challenger = loaded["forest + isolation forest"]
    shadow_us = median_us(lambda values: ShadowScores.of(challenger, [values]), payloads, calls)
    print(f"\nchallenger (forest + isolation forest) in shadow: {shadow_us:.0f} us per transaction")


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        main()
