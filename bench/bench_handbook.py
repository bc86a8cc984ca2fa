"""Model quality on the Fraud Detection Handbook's data, by its protocol, beside its figures.

Run from the repository root::

    .venv/bin/python -m bench.bench_handbook [--data F] [--models logistic,forest,boosting]
        [--features handbook] [--presets NAME,...] [--folds 4] [--json]

For each model (default hyper-parameters, ``random_state`` 0, on ``--features``) and each
preset (``fraudctl.training.presets``, every one by default; ``--presets ''`` for none) it
prints the chapter-3 split
(train 2018-07-25 .. 07-31, 7 days of delay, test 2018-08-08 .. 08-14, known-compromised
customers removed) beside the published table, then the four weekly folds and their mean
(fold k is the split shifted k weeks earlier, as in the Handbook's chapter 5), and a
summary. With ``--json`` it also prints ``{"name", "value", "unit", "baseline", "ratio"}``
records, named ``handbook_{ch3,folds}_{model or preset}_{auc,ap,cp100}`` (a preset's
dashes as underscores); the baseline is the Handbook's published random forest (chapter 3)
or tuned figure (chapter 5, AP only). ``fraudctl evaluate`` runs the same code for one model.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from fraudctl.data import read_transactions
from fraudctl.evaluation.metrics import mean_metrics
from fraudctl.evaluation.protocol import Split, folds
from fraudctl.evaluation.runner import (
    METRIC_NAMES,
    PUBLISHED_CHAPTER_3,
    evaluate_folds,
    report,
)
from fraudctl.training.featuresets import features_for, resolve_features
from fraudctl.training.fitting import ModelSpec
from fraudctl.training.presets import PRESETS, preset

ROOT = Path(__file__).resolve().parents[1]
FALLBACK_DIR = Path("/work/shared/data/handbook")
TRANSACTIONS = "transactions.csv.gz"
PUBLISHED_FOREST = PUBLISHED_CHAPTER_3["random forest (scikit-learn defaults)"]
PUBLISHED_FOLDS_AP = 0.678  # chapter 5, random forest, tuned
SHORT = {"auc": "auc", "average_precision": "ap", "card_precision@100": "cp100"}
QUALITY_FLOOR = {"auc": 0.87, "average_precision": 0.70, "card_precision@100": 0.29}
"""Issue 4's floor on the chapter-3 split, for the recommended preset."""


def record_name(split: str, configuration: str, metric: str) -> str:
    """``handbook_{ch3,folds}_{model or preset, "-" as "_"}_{auc,ap,cp100}``."""
    return f"handbook_{split}_{configuration.replace('-', '_')}_{SHORT[metric]}"


def handbook_file() -> Path:
    """``transactions.csv.gz`` of the Handbook data: in ``FRAUD_HANDBOOK_DIR``, else in
    ``shared/data/handbook`` of a parent of the repository, else in ``FALLBACK_DIR`` (a
    clone elsewhere on the project's machine). ``FileNotFoundError`` names every place."""
    override = os.environ.get("FRAUD_HANDBOOK_DIR")
    candidates = [Path(override)] if override else []
    candidates += [parent / "shared" / "data" / "handbook" for parent in ROOT.parents]
    candidates.append(FALLBACK_DIR)
    for directory in candidates:
        if (directory / TRANSACTIONS).is_file():
            return directory / TRANSACTIONS
    raise FileNotFoundError(
        f"no Handbook data ({TRANSACTIONS}) in any of {[str(c) for c in candidates]}: "
        "set FRAUD_HANDBOOK_DIR"
    )


def _record(name: str, value: float, baseline: float | None) -> dict[str, Any]:
    ratio = None if baseline is None or math.isnan(value) else round(value / baseline, 3)
    return {
        "name": name,
        "value": round(value, 4),
        "unit": "",
        "baseline": baseline,
        "ratio": ratio,
    }


def _specs(models: str, features: str, presets: str, jobs: int) -> dict[str, ModelSpec]:
    """Each configuration to assess, by the name its records carry."""
    names = resolve_features(features)
    specs = {
        kind: ModelSpec(kind=kind, features=names, jobs=jobs) for kind in models.split(",") if kind
    }
    for name in filter(None, presets.split(",")):
        specs[name.replace("-", "_")] = preset(name).spec(jobs=jobs)
    return specs


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, help="Handbook transactions (default: found)")
    parser.add_argument("--models", default="logistic,forest,boosting")
    parser.add_argument("--features", default="handbook", help="the models' features")
    parser.add_argument("--presets", default=",".join(PRESETS), help="presets (default: all)")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2, help="parallel jobs of forests")
    parser.add_argument("--json", action="store_true", help="also print JSON records")
    args = parser.parse_args()
    started = time.perf_counter()
    specs = _specs(args.models, args.features, args.presets, args.jobs)
    frame = read_transactions(args.data or handbook_file())
    needed = tuple(dict.fromkeys(name for spec in specs.values() for name in spec.features))
    features = features_for(frame, needed)
    print(
        f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"data and features in {time.perf_counter() - started:.0f} s\n"
    )
    summary, records = [], []
    for name, spec in specs.items():
        begun = time.perf_counter()
        results = evaluate_folds(frame, features, spec, folds(Split(), args.folds))
        seconds = time.perf_counter() - begun
        label = f"{spec.kind} ({spec.preset or args.features}, {len(spec.features)} features)"
        print(f"## {name}: {label}: {seconds:.0f} s\n")
        print(report(results, label) + "\n")
        first, mean = results[0].metrics, mean_metrics([r.metrics for r in results])
        summary.append((name, first, mean))
        for metric, published in zip(METRIC_NAMES, PUBLISHED_FOREST, strict=True):
            records.append(_record(record_name("ch3", name, metric), first[metric], published))
            baseline = PUBLISHED_FOLDS_AP if metric == "average_precision" else None
            records.append(_record(record_name("folds", name, metric), mean[metric], baseline))
    print("| model | ch. 3 AUC | AP | CP@100 | 4-fold mean AUC | AP | CP@100 |")
    print("|---|---|---|---|---|---|---|")
    for name, first, mean in summary:
        cells = [first[m] for m in METRIC_NAMES] + [mean[m] for m in METRIC_NAMES]
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if args.json:
        print(json.dumps(records))


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        main()
