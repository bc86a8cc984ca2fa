"""The scoring service with an anomaly model, a challenger and cost-based review, in memory."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pytest

from chalicelib.alerts import MemoryAlertPublisher
from chalicelib.decisions import RuleOutcome
from chalicelib.features.online import OnlineFeatures
from chalicelib.identifiers import IdentifierHasher
from chalicelib.model.artifact import LoadedModel, Thresholds, load_directory
from chalicelib.model.compiled import LogisticModel, ModelInputError
from chalicelib.model.scorer import ANOMALY_FEATURE, ModelScorer
from chalicelib.scoring import EmptyRuleSet, ScoringService
from chalicelib.state.memory import MemoryStore
from chalicelib.state.store import ListKey
from chalicelib.state.updates import Item
from chalicelib.transaction import Transaction, parse_transaction
from tests.conftest import transaction
from tests.models import trained


@dataclass
class Models:
    """A model source with a fixed champion and challenger."""

    champion: LoadedModel
    shadow: LoadedModel | None = None

    def current(self) -> LoadedModel:
        return self.champion

    def challenger(self) -> LoadedModel | None:
        return self.shadow


@dataclass
class RecordingRules(EmptyRuleSet):
    """No rule fires; the features each evaluation saw are kept."""

    seen: list[dict[str, float]] = field(default_factory=list)

    def evaluate(
        self,
        tx: Transaction,
        features: Mapping[str, float],
        score: float,
        list_items: Mapping[ListKey, Item],
    ) -> RuleOutcome:
        self.seen.append(dict(features))
        return RuleOutcome()


@dataclass
class Rules:
    rules: RecordingRules = field(default_factory=RecordingRules)

    def current(self) -> RecordingRules:
        return self.rules


def service(models: Models, store: MemoryStore | None = None) -> tuple[ScoringService, Rules]:
    rules = Rules()
    return (
        ScoringService(
            store=store or MemoryStore(),
            models=models,
            rules=rules,
            alerts=MemoryAlertPublisher(),
            features=OnlineFeatures(),
            hasher=IdentifierHasher(b"key"),
            clock=lambda: datetime(2025, 3, 14, tzinfo=UTC),
        ),
        rules,
    )


def payloads(count: int) -> list[Transaction]:
    return [
        parse_transaction(
            transaction(
                transaction_id=f"t-{i}",
                amount=10.0 + 97.0 * i,
                customer_id=f"C-{i % 3}",
                timestamp=f"2025-03-14T10:{i:02d}:00",
            ),
            default_currency="EUR",
        )
        for i in range(count)
    ]


def test_rules_and_the_stored_record_see_the_anomaly_score():
    model = load_directory(trained("forest", anomaly=True))
    scoring, rules = service(Models(model))

    results = scoring.score_batch(payloads(5))

    for result, seen in zip(results, rules.rules.seen, strict=True):
        stored = result.record["features"]
        expected = model.scorer.anomaly.anomaly_score(model.matrix([stored]))[0]
        assert seen[ANOMALY_FEATURE] == stored[ANOMALY_FEATURE] == pytest.approx(expected, 1e-12)


@pytest.mark.parametrize(
    ("kind", "anomaly", "anomaly_input"),
    [
        ("forest", True, True),
        ("logistic", True, False),
        ("boosting", False, False),
        ("anomaly", False, False),
    ],
    ids=["classifier reading the anomaly score", "classifier and anomaly", "classifier", "anomaly"],
)
def test_a_payment_alone_scores_as_it_does_in_a_batch(kind, anomaly, anomaly_input):
    # Given a model and the features of payments, as the online engine computes them
    model = load_directory(trained(kind, anomaly=anomaly, anomaly_input=anomaly_input))
    scoring, rules = service(Models(model))
    scoring.score_batch(payloads(12))
    features = [
        {name: value for name, value in seen.items() if name != ANOMALY_FEATURE}
        for seen in rules.rules.seen
    ]
    # When they are scored as one batch and each alone (the API's case)
    batch = model.score(features)
    alone = [model.score([row]) for row in features]
    # Then each payment gets the same scores and model inputs
    tolerance = 1e-15 if kind == "logistic" else 0.0
    np.testing.assert_allclose([a.scores[0] for a in alone], batch.scores, rtol=0, atol=tolerance)
    np.testing.assert_array_equal(np.concatenate([a.inputs for a in alone]), batch.inputs)
    if model.scorer.anomaly is None:
        assert all(a.anomaly_scores is None for a in alone) and batch.anomaly_scores is None
    else:
        np.testing.assert_array_equal([a.anomaly_scores[0] for a in alone], batch.anomaly_scores)


def test_a_row_of_the_wrong_length_is_refused_alone_as_in_a_batch():
    # Given a model and a row one feature short
    model = load_directory(trained("forest", anomaly=True))
    short = [0.0] * (len(model.feature_names) - 1)
    # When scored alone or as a batch, Then the input is refused
    with pytest.raises(ModelInputError, match="features"):
        model.scorer.score_one(short)
    with pytest.raises(ModelInputError, match="features"):
        model.scorer.score(np.array([short]))


def test_challenger_is_recorded_never_decides_and_costs_no_extra_store_call():
    champion = load_directory(trained("logistic"))
    challenger = load_directory(trained("forest", anomaly_input=True))
    alone_store, shadowed_store = MemoryStore(), MemoryStore()
    alone, _ = service(Models(champion), alone_store)
    shadowed, _ = service(Models(champion, challenger), shadowed_store)

    plain = alone.score_batch(payloads(8))
    with_shadow = shadowed.score_batch(payloads(8))

    for without, result in zip(plain, with_shadow, strict=True):
        assert result.response == without.response
        shadow = result.record["challenger"]
        assert "challenger" not in without.record
        expected = challenger.score([result.record["features"]]).scores[0]
        assert shadow["version"] == challenger.version
        assert shadow["score"] == pytest.approx(expected, abs=1e-9)
        outcome = "block" if expected >= challenger.thresholds.block else None
        outcome = outcome or ("review" if expected >= challenger.thresholds.review else "allow")
        assert shadow["decision"] == outcome
    assert shadowed_store.calls == alone_store.calls


def test_a_challenger_that_cannot_score_is_skipped_and_logged(caplog):
    champion = load_directory(trained("logistic"))
    stranger = LoadedModel(
        "stranger",
        ModelScorer(LogisticModel(("amount", "velocity"), coef=np.ones(2), intercept=0.0), None),
        Thresholds(0.5, 0.9),
        {},
    )
    scoring, _ = service(Models(champion, stranger))

    [result] = scoring.score_batch(payloads(1))

    assert "challenger" not in result.record
    assert result.record["model_version"] == champion.version
    assert "challenger could not score" in caplog.text


def test_cost_based_review_sends_a_large_amount_to_review():
    model = load_directory(trained("logistic", review_cost=5.0))
    cost = model.thresholds.review_cost
    scoring, _ = service(Models(model))

    results = scoring.score_batch(payloads(12))

    for result in results:
        record = result.record
        loss = record["score"] * record["amount"]
        if record["score"] >= model.thresholds.block:
            assert record["decision"] == "block"
        else:
            assert record["decision"] == ("review" if loss >= cost else "allow")
        assert record["reasons"][0]["review_cost"] == cost
    decided = [(r.record["decision"], r.record["score"]) for r in results]
    assert ("review", True) in {(d, s < model.thresholds.review) for d, s in decided}
    assert "allow" in {d for d, _ in decided}


def test_feature_reasons_accompany_reviews_and_blocks_never_an_allowed_payment():
    model = load_directory(trained("logistic", review_cost=5.0))
    scoring, _ = service(Models(model))

    results = scoring.score_batch(payloads(12))

    codes = {r.record["decision"]: [x["code"] for x in r.record["reasons"]] for r in results}
    assert codes["allow"] == ["model_score"]
    flagged = [codes[d] for d in ("review", "block") if d in codes]
    assert flagged and all(c[0] == "model_score" and "feature" in c[1:] for c in flagged)
