"""``fraudctl train``: artifacts of every model kind, against the fitted estimators they ship.

The reference is scikit-learn itself: the estimator saved beside the artifact
(``--save-estimator``) scores the whole test slice, and the artifact's compiled model,
loaded as the functions load it, must give the same probabilities to 1e-9, row by row and
in batches.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from chalicelib.model import plain
from chalicelib.model.artifact import (
    ARTIFACT_FORMAT,
    MANIFEST,
    MODEL_FILE,
    ArtifactError,
    LoadedModel,
    load_directory,
    parse_manifest,
)
from chalicelib.model.scorer import ANOMALY_FEATURE
from fraudctl.cli import main
from fraudctl.data import read_transactions, select_days
from fraudctl.training.featuresets import HANDBOOK_SET, features_for
from fraudctl.training.fitting import ESTIMATOR_FILE
from tests.models import TEST, TRAIN_FROM, TRAIN_TO, VALIDATION, simulated_file, trained

TOLERANCE = 1e-9
CLASSIFIERS = ("logistic", "forest", "extra_trees", "boosting")


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    with threadpool_limits(limits=1):
        yield


@functools.cache
def slice_rows(start: str, end: str) -> np.ndarray:
    """Feature rows (Handbook set) of the simulated file dated in ``[start, end)``."""
    frame = read_transactions(simulated_file())
    features = features_for(frame, HANDBOOK_SET)
    mask = select_days(frame, start, end).to_numpy()
    return features.loc[mask, list(HANDBOOK_SET)].to_numpy(np.float64)


def estimators(directory: Path) -> dict:
    return joblib.load(directory / ESTIMATOR_FILE)


def reference_scores(directory: Path, rows: np.ndarray) -> np.ndarray:
    saved = estimators(directory)
    inputs = rows
    if ANOMALY_FEATURE in saved["classifier_inputs"]:
        inputs = np.column_stack([rows, -saved["detector"].score_samples(rows)])
    return saved["classifier"].predict_proba(inputs)[:, 1]


def assert_equal_single_and_batch(model: LoadedModel, rows: np.ndarray, expected: np.ndarray):
    batch = model.scorer.score(rows).scores
    single = np.array([model.scorer.score(row).scores[0] for row in rows])
    assert np.abs(batch - expected).max() <= TOLERANCE
    assert np.abs(single - expected).max() <= TOLERANCE


@pytest.mark.parametrize("kind", CLASSIFIERS)
def test_artifact_probabilities_equal_the_estimator_on_the_whole_test_slice(kind):
    directory = trained(kind)
    rows = slice_rows(*TEST)

    assert len(rows) > 1000
    assert_equal_single_and_batch(
        load_directory(directory), rows, reference_scores(directory, rows)
    )


def test_classifier_reading_the_anomaly_score_equals_its_estimators():
    directory = trained("forest", anomaly_input=True)
    model = load_directory(directory)
    rows = slice_rows(*TEST)

    assert model.scorer.input_names[-1] == ANOMALY_FEATURE
    assert ANOMALY_FEATURE not in model.feature_names
    assert_equal_single_and_batch(model, rows, reference_scores(directory, rows))


def test_anomaly_scores_equal_the_isolation_forest():
    directory = trained("forest", anomaly=True)
    rows = slice_rows(*TEST)

    scored = load_directory(directory).scorer.score(rows)

    expected = -estimators(directory)["detector"].score_samples(rows)
    assert np.abs(scored.anomaly_scores - expected).max() <= TOLERANCE
    assert np.abs(scored.scores - reference_scores(directory, rows)).max() <= TOLERANCE


def test_anomaly_only_artifact_decides_on_the_anomaly_score():
    directory = trained("anomaly")
    model = load_directory(directory)
    rows = slice_rows(*TEST)

    scored = model.scorer.score(rows)

    assert model.scorer.classifier is None
    assert np.array_equal(scored.scores, scored.anomaly_scores)
    assert np.abs(scored.scores + estimators(directory)["detector"].score_samples(rows)).max() <= (
        TOLERANCE
    )


def test_manifest_records_files_window_data_metrics_libraries_features_and_thresholds():
    directory = trained("forest")
    manifest = json.loads((directory / MANIFEST).read_text())

    for name, entry in manifest["files"].items():
        data = (directory / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert set(manifest["files"]) == {"model.joblib", ESTIMATOR_FILE}
    assert manifest["version"].split("-")[1:] == [
        "forest",
        manifest["files"]["model.joblib"]["sha256"][:8],
    ]
    assert (manifest["training"]["from"], manifest["training"]["to"]) == (TRAIN_FROM, TRAIN_TO)
    assert manifest["data"]["sha256"] == hashlib.sha256(simulated_file().read_bytes()).hexdigest()
    validation, test = manifest["metrics"]["validation"], manifest["metrics"]["test"]
    assert (validation["from"], validation["to"]) == VALIDATION
    assert (test["from"], test["to"]) == TEST
    for metrics in (validation, test):
        assert {"auc", "average_precision", "card_precision@100", "review_share"} <= set(metrics)
        assert metrics["assessed_rows"] <= metrics["rows"]
    assert {"python", "numpy", "scikit-learn", "joblib"} <= set(manifest["libraries"])
    assert manifest["features"]["terminal_risk_7d"] == {
        "statistic": "fraud_rate",
        "argument": None,
        "window": {"entity": "terminal", "seconds": 7 * 86_400, "lag_seconds": 7 * 86_400},
    }
    assert manifest["model"]["params"] == {"n_estimators": 15, "max_depth": 8}
    assert manifest["model"]["estimator_params"]["min_samples_leaf"] == 1  # defaults recorded
    assert manifest["thresholds"] == load_directory(directory).thresholds.to_dict()
    assert "precision >= 0.9" in manifest["threshold_choice"]["block"]


@pytest.mark.parametrize(
    "kind, options",
    [
        ("forest", {}),
        ("forest", {"anomaly": True}),
        ("forest", {"anomaly_input": True}),
        ("anomaly", {}),
    ],
)
def test_every_artifact_is_written_in_format_3_and_its_model_file_holds_plain_values(kind, options):
    directory = trained(kind, **options)
    manifest = json.loads((directory / MANIFEST).read_text())

    assert manifest["format"] == ARTIFACT_FORMAT == 3
    payload = plain.load((directory / MODEL_FILE).read_bytes())  # no class named in it
    assert payload["format"] == 3
    with pytest.raises(ArtifactError, match="unknown format"):
        parse_manifest(json.dumps({**manifest, "format": 4}).encode())


@pytest.mark.parametrize("kind", ["logistic", "forest", "anomaly"])
def test_thresholds_respect_the_review_capacity_on_validation(kind):
    model = load_directory(trained(kind))
    scores = model.scorer.score(slice_rows(*VALIDATION)).scores

    in_review = (scores >= model.thresholds.review) & (scores < model.thresholds.block)

    assert in_review.mean() <= 0.01
    assert in_review.mean() >= 0.005  # the capacity is used, not wasted


def test_cost_based_review_ships_the_review_cost_and_reviews_within_capacity():
    manifest = json.loads((trained("logistic", review_cost=5.0) / MANIFEST).read_text())

    thresholds = manifest["thresholds"]
    assert thresholds["review"] == thresholds["block"]
    assert thresholds["review_cost"] >= 5.0
    assert manifest["threshold_choice"]["effective_review_cost"] == thresholds["review_cost"]
    assert 0 < manifest["metrics"]["validation"]["review_share"] <= 0.01


def test_train_command_writes_an_artifact_that_loads(tmp_path, capsys):
    out = tmp_path / "model"

    code = main(
        [
            "train",
            "--data",
            str(simulated_file()),
            "--train-from",
            TRAIN_FROM,
            "--train-to",
            TRAIN_TO,
            "--out",
            str(out),
            "--model",
            "extra_trees",
            "--param",
            "n_estimators=5",
            "--class-weight",
            "balanced",
            "--features",
            "amount,customer_avg_amount_30d,terminal_risk_7d",
        ]
    )

    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    model = load_directory(out)
    assert summary["version"] == model.version and summary["kind"] == "extra_trees"
    assert model.feature_names == ("amount", "customer_avg_amount_30d", "terminal_risk_7d")
    assert json.loads((out / MANIFEST).read_text())["model"]["class_weight"] == "balanced"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--param", "n_estimators=-1", "--model", "forest"], "n_estimators"),
        (["--param", "colour=red"], "no hyper-parameter colour"),
        (["--features", "amount,velocity"], "unknown features"),
        (["--train-from", "2025-02-20", "--train-to", "2025-03-01"], "too short"),
        (["--block-precision", "1.5"], "block_precision must be in (0, 1]"),
    ],
)
def test_train_command_refuses_bad_options_with_a_message(tmp_path, capsys, options, message):
    arguments = ["train", "--data", str(simulated_file()), "--train-from", TRAIN_FROM]
    if "--train-to" not in options:
        arguments += ["--train-to", TRAIN_TO]

    code = main([*arguments, "--out", str(tmp_path / "m"), *options])

    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m" / MANIFEST).exists()


def test_training_up_to_the_files_end_validates_inside_the_window(tmp_path, capsys):
    arguments = ["train", "--data", str(simulated_file()), "--train-from", TRAIN_FROM]

    code = main([*arguments, "--train-to", "2025-03-05", "--out", str(tmp_path / "m")])

    assert code == 0
    manifest = json.loads((tmp_path / "m" / MANIFEST).read_text())
    assert manifest["training"]["to"] == "2025-03-05"
    assert set(manifest["metrics"]) == {"validation"}
    assert (manifest["metrics"]["validation"]["from"], manifest["metrics"]["validation"]["to"]) == (
        "2025-02-26",
        "2025-03-05",
    )
    assert "fitted on [2025-01-29, 2025-02-19)" in manifest["threshold_choice"]["validated"]
    assert 0 < manifest["metrics"]["validation"]["review_share"] <= 0.01


def test_anomaly_only_model_trains_on_unlabelled_data_and_a_classifier_does_not(tmp_path):
    unlabelled = tmp_path / "unlabelled.csv"
    frame = pd.read_csv(simulated_file(), dtype=str)
    frame.drop(columns=["is_fraud", "fraud_scenario"]).to_csv(unlabelled, index=False)
    arguments = ["train", "--data", str(unlabelled), "--train-from", TRAIN_FROM]
    arguments += ["--train-to", TRAIN_TO, "--block-rule", "rate"]

    assert main([*arguments, "--out", str(tmp_path / "a"), "--model", "anomaly"]) == 0
    assert main([*arguments, "--out", str(tmp_path / "f"), "--model", "forest"]) == 2

    manifest = json.loads((tmp_path / "a" / MANIFEST).read_text())
    assert manifest["training"]["frauds"] is None
    assert set(manifest["metrics"]["validation"]) == {
        "from",
        "to",
        "rows",
        "review_share",
        "block_share",
    }
    assert 0 < manifest["metrics"]["validation"]["review_share"] <= 0.01


def test_evaluate_command_prints_folds_beside_the_published_table(tmp_path, capsys):
    figures = tmp_path / "figures.json"

    code = main(
        [
            "evaluate",
            "--data",
            str(simulated_file()),
            "--train-from",
            "2025-02-05",
            "--folds",
            "2",
            "--json",
            str(figures),
        ]
    )

    assert code == 0
    output = capsys.readouterr().out
    assert "| random forest (scikit-learn defaults) (Handbook) | 0.867 | 0.658 | 0.287 |" in output
    assert "| **mean** |" in output
    folds = json.loads(figures.read_text())["folds"]
    assert [fold["test_from"] for fold in folds] == ["2025-02-19", "2025-02-12"]
    assert all(0.5 < fold["auc"] <= 1.0 for fold in folds)
