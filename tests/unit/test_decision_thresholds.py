"""Thresholds chosen on validation scores, and the decisions they make (cost-based too)."""

from __future__ import annotations

import numpy as np
import pytest

from chalicelib.decisions import RuleHit, decide, model_outcomes
from chalicelib.features.spec import HANDBOOK_FEATURES
from chalicelib.model.artifact import ArtifactError, Thresholds
from fraudctl.training.errors import TrainingError
from fraudctl.training.estimators import (
    ModelOptionError,
    make_estimator,
    parse_class_weight,
    parse_params,
)
from fraudctl.training.featuresets import (
    HANDBOOK_SET,
    FeatureSetError,
    online_definitions,
    resolve_features,
)
from fraudctl.training.fitting import ModelSpec
from fraudctl.training.thresholds import (
    ThresholdPolicy,
    ThresholdPolicyError,
    capacity_threshold,
    choose_thresholds,
    precision_threshold,
)

# 200 validation rows: scores 0.000, 0.005, ..., 0.995; the top 10 (>= 0.95) hold 9 frauds
# and 0.945 ... 0.900 hold 3 frauds in 10 rows.
SCORES = np.arange(200) / 200
LABELS = np.zeros(200, dtype=int)
LABELS[[190, 191, 192, 193, 194, 196, 197, 198, 199]] = 1
LABELS[[181, 184, 187]] = 1
AMOUNTS = np.full(200, 10.0)


def test_capacity_threshold_never_exceeds_the_capacity_with_ties():
    values = np.array([0.9, 0.8, 0.8, 0.8, 0.1])

    assert capacity_threshold(values, 1) == 0.9
    assert capacity_threshold(values, 3) == 0.9  # 0.8 would flag four
    assert capacity_threshold(values, 4) == 0.8
    assert capacity_threshold(values, 0) == np.inf


def test_block_threshold_is_the_lowest_reaching_the_precision_target():
    # From 0.950 up: 9 frauds in 10 rows; adding 0.945 makes 9 of 11.
    assert precision_threshold(SCORES, LABELS, 0.9) == 0.95
    assert precision_threshold(SCORES, LABELS, 0.8) == 0.945  # 9 of 11; 9 of 12 is below
    assert precision_threshold(SCORES, np.zeros(200, dtype=int), 0.5) is None


def test_review_takes_the_capacity_below_the_block_threshold():
    thresholds, choice = choose_thresholds(
        ThresholdPolicy(review_rate=0.05), SCORES, LABELS, AMOUNTS
    )

    assert thresholds.block == 0.95
    # 5 % of 200 rows = 10 reviews in [review, 0.95): 0.900 .. 0.945.
    assert thresholds.review == 0.9
    assert choice["block_target_reached"] is True


def test_unreachable_precision_blocks_only_a_score_of_one():
    labels = LABELS.copy()
    labels[199] = 0  # the top score is legitimate: no threshold is fraud-only

    thresholds, choice = choose_thresholds(
        ThresholdPolicy(block_precision=1.0), SCORES, labels, AMOUNTS
    )

    assert thresholds.block == 1.0
    assert choice["block_target_reached"] is False
    assert "not reached" in choice["block"]


def test_rate_block_rule_needs_no_labels():
    policy = ThresholdPolicy(review_rate=0.05, block_rule="rate", block_rate=0.02)

    thresholds, _ = choose_thresholds(policy, SCORES, None, AMOUNTS)

    # 2 % of 200 = 4 blocks: 0.980 .. 0.995; then 10 reviews: 0.930 .. 0.975.
    assert (thresholds.review, thresholds.block) == (0.93, 0.98)


def test_precision_rule_without_labels_is_refused():
    with pytest.raises(ThresholdPolicyError, match="needs labels"):
        choose_thresholds(ThresholdPolicy(), SCORES, None, AMOUNTS)


def test_cost_based_review_raises_the_cost_to_respect_the_capacity():
    amounts = np.where(np.arange(200) % 2 == 0, 1000.0, 1.0)  # every other row is large
    policy = ThresholdPolicy(review_rate=0.05, block_rule="rate", block_rate=0.005, review_cost=5.0)

    thresholds, choice = choose_thresholds(policy, SCORES, LABELS, amounts)

    # Expected losses of the large rows reach 5.0 from score 0.005 up: far too many reviews,
    # so the bar rises to the 10th largest loss below the block threshold (score 0.9 x 1000).
    assert thresholds.block == 0.995
    assert thresholds.review == thresholds.block
    assert thresholds.review_cost == pytest.approx(900.0)
    assert choice["effective_review_cost"] == thresholds.review_cost
    outcomes = model_outcomes(SCORES, amounts, thresholds)
    assert (outcomes == "review").sum() == 10


def test_cost_based_review_keeps_the_given_cost_when_capacity_allows():
    policy = ThresholdPolicy(review_rate=0.5, review_cost=9.0)

    thresholds, _ = choose_thresholds(policy, SCORES, LABELS, AMOUNTS)

    assert thresholds.review_cost == 9.0


def test_no_validation_rows_is_a_training_error():
    with pytest.raises(TrainingError):
        choose_thresholds(ThresholdPolicy(), np.array([]), np.array([]), np.array([]))


@pytest.mark.parametrize(
    "settings",
    [{"review_rate": 0.0}, {"block_precision": 1.5}, {"review_cost": -1.0}, {"block_rule": "x"}],
)
def test_policy_settings_out_of_range_are_refused(settings):
    with pytest.raises(ThresholdPolicyError):
        ThresholdPolicy(**settings)


def test_decide_reviews_on_expected_loss_and_says_why():
    thresholds = Thresholds(review=0.9, block=0.95, review_cost=50.0)

    large = decide(0.1, thresholds, [], amount=600.0)
    small = decide(0.1, thresholds, [], amount=20.0)

    assert (large.decision, small.decision) == ("review", "allow")
    assert "expected loss 60.00 (score 0.100 x amount 600.00)" in large.reasons[0].message
    assert large.reasons[0].details["expected_loss"] == 60.0
    assert "expected loss 2.00 below 50.00" in small.reasons[0].message


def test_decide_without_cost_ignores_the_amount_and_rules_still_win():
    thresholds = Thresholds(review=0.5, block=0.9)
    allow_rule = RuleHit("vip", "allow", 10, "customer_id in @vip")

    assert decide(0.4, thresholds, [], amount=1e6).decision == "allow"
    assert decide(0.95, thresholds, [allow_rule], amount=10.0).decision == "allow"


def test_thresholds_refuse_a_non_positive_review_cost_and_override_per_stage():
    with pytest.raises(ArtifactError):
        Thresholds(0.1, 0.2, review_cost=0.0)

    overridden = Thresholds(0.1, 0.9, 20.0).overridden(None, 0.8, 35.0)

    assert overridden == Thresholds(0.1, 0.8, 35.0)


def test_hyper_parameters_class_weights_and_kinds():
    assert parse_params(["n_estimators=300", "max_features=sqrt", "max_depth=null"]) == {
        "n_estimators": 300,
        "max_features": "sqrt",
        "max_depth": None,
    }
    assert parse_class_weight("none") is None
    assert parse_class_weight("balanced") == "balanced"
    assert parse_class_weight("20") == 20.0
    forest = make_estimator("forest", {"n_estimators": 7}, 20.0, seed=3, jobs=2)
    assert (forest.n_estimators, forest.class_weight, forest.random_state, forest.n_jobs) == (
        7,
        {0: 1.0, 1: 20.0},
        3,
        2,
    )
    assert make_estimator("boosting").early_stopping is False
    assert make_estimator("logistic").named_steps["model"].max_iter == 2_000


@pytest.mark.parametrize(
    "call",
    [
        lambda: parse_params(["no-equals-sign"]),
        lambda: parse_class_weight("-2"),
        lambda: parse_class_weight("heavy"),
        lambda: make_estimator("svm"),
        lambda: make_estimator("forest", {"n_estimators": 0}),
        lambda: make_estimator("anomaly", class_weight="balanced"),
        lambda: ModelSpec(kind="anomaly", anomaly_input=True),
        lambda: ModelSpec(kind="forest", params={"learning_rate": 0.1}),
    ],
)
def test_bad_model_options_are_refused_before_any_data_is_read(call):
    with pytest.raises(ModelOptionError):
        call()


def test_feature_sets_name_online_features_only():
    assert sorted(HANDBOOK_SET) == sorted(HANDBOOK_FEATURES)
    assert resolve_features("handbook") == HANDBOOK_SET
    assert resolve_features("all") == tuple(online_definitions())
    assert resolve_features(" amount , is_night ") == ("amount", "is_night")
    with pytest.raises(FeatureSetError, match="unknown features"):
        resolve_features("amount,velocity")
    with pytest.raises(FeatureSetError, match="--anomaly-input"):
        resolve_features("amount,anomaly_score")
    with pytest.raises(FeatureSetError, match="twice"):
        resolve_features("amount,amount")


def test_stage_settings_read_the_review_cost_override():
    from chalicelib import settings

    required = {
        name: "x"
        for name in (
            settings.ENV_DECISIONS_TABLE,
            settings.ENV_STATE_TABLE,
            settings.ENV_CONFIG_TABLE,
            settings.ENV_BUCKET,
            settings.ENV_ALERTS_TOPIC_ARN,
        )
    }

    assert settings.Settings.from_environ(required).review_cost is None
    stage = settings.Settings.from_environ({**required, settings.ENV_REVIEW_COST: "25"})
    assert stage.review_cost == 25.0
