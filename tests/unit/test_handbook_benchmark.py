"""The Handbook's chapter-3 figures, reproduced on its data by our protocol and features, and
the quality floor met by the recommended preset.

Reads the benchmark files of ``../shared/data/handbook`` (found by walking up from the
repository, or ``FRAUD_HANDBOOK_DIR``; the test fails, never skips, without them); about two
minutes on two cores, most of it the random forests. Run it alone with ``pytest -m handbook``.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from bench.bench_handbook import QUALITY_FLOOR, handbook_file
from fraudctl.data import read_transactions
from fraudctl.evaluation.protocol import Split
from fraudctl.evaluation.runner import FoldResult, evaluate_split
from fraudctl.training.featuresets import HANDBOOK_SET, VELOCITY_SET, features_for
from fraudctl.training.fitting import ModelSpec
from fraudctl.training.presets import PRESETS, RECOMMENDED

pytestmark = pytest.mark.handbook

TOLERANCE = 0.002  # the published figures have three decimals
PARITY = 1e-9


@functools.cache
def handbook() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = read_transactions(handbook_file())
    return frame, features_for(frame, VELOCITY_SET)  # the Handbook's 15 among them


@functools.cache
def chapter_3(name: str) -> FoldResult:
    """A model kind with its defaults on the Handbook's 15 features, or a preset."""
    frame, features = handbook()
    spec = PRESETS[name].spec(jobs=2) if name in PRESETS else ModelSpec(kind=name, jobs=2)
    with threadpool_limits(limits=1):
        return evaluate_split(frame, features, spec, Split())


def test_chapter_3_split_has_the_published_sizes():
    result = chapter_3("logistic")

    assert (result.train_rows, result.train_frauds) == (67_240, 598)
    assert (result.test_rows, result.test_frauds) == (58_264, 385)


@pytest.mark.parametrize(
    ("kind", "published"),
    [("forest", (0.867, 0.658, 0.287)), ("logistic", (0.871, 0.606, 0.291))],
)
def test_default_models_reproduce_the_published_figures(kind, published):
    metrics = chapter_3(kind).metrics

    measured = (metrics["auc"], metrics["average_precision"], metrics["card_precision@100"])
    assert measured == pytest.approx(published, abs=TOLERANCE)


def test_recommended_preset_meets_the_quality_floor():
    metrics = chapter_3(RECOMMENDED).metrics

    assert {name: metrics[name] >= floor for name, floor in QUALITY_FLOOR.items()} == dict.fromkeys(
        QUALITY_FLOOR, True
    ), metrics


def test_compiled_forest_equals_scikit_learn_on_the_whole_test_split():
    _, features = handbook()
    result = chapter_3("forest")
    rows = features[list(HANDBOOK_SET)].to_numpy(np.float64)[result.test_index]
    expected = result.fitted.estimator.predict_proba(rows)[:, 1]

    batch = result.fitted.scorer.score(rows).scores
    single = np.array([result.fitted.scorer.score(row).scores[0] for row in rows])

    assert len(rows) == 58_264
    assert np.abs(batch - expected).max() <= PARITY
    assert np.abs(single - expected).max() <= PARITY
