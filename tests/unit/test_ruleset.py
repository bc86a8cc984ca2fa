"""The compiled rule set on the scoring path: context, precedence, shadow, suspensions,
list expiry, redaction."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib.decisions import decide
from chalicelib.model.artifact import Thresholds
from chalicelib.rules import RuleEvaluationError, Schema
from chalicelib.rules.ruleset import CompiledRuleSet
from tests.rules_support import FEATURE_NAMES, NOW, SCHEMA, VALUES, rule, rule_set, tx

FEATURES = {name: 0.0 for name in FEATURE_NAMES} | {
    "amount": 42.5,
    "customer_nb_tx_1d": 7.0,
    "customer_avg_amount_30d": 20.0,
    "terminal_risk_7d": 0.25,
}
THRESHOLDS = Thresholds(review=0.5, block=0.9)
LATER = (NOW + timedelta(hours=1)).timestamp()
EARLIER = (NOW - timedelta(seconds=1)).timestamp()


def hit_ids(outcome):
    return [hit.rule_id for hit in outcome.hits]


def test_rules_read_features_with_dotted_names_scores_and_metadata():
    rules = rule_set(
        [
            rule("velocity", "customer.nb_tx_1d > 5 and amount > 2 * customer.avg_amount_30d"),
            rule("scores", "score > 0.6 and risk_score == 70 and terminal.risk_7d > 0.2"),
            rule("basket", "metadata.basket_items >= 3", "review"),
        ]
    )

    outcome = rules.evaluate(tx(), FEATURES, 0.7, {})

    assert sorted(hit_ids(outcome)) == ["basket", "scores", "velocity"]
    [velocity] = [h for h in outcome.hits if h.rule_id == "velocity"]
    assert velocity.explanation == (
        "customer.nb_tx_1d (7.00) > 5 and amount (42.50) > 2 * customer.avg_amount_30d (20.00)"
    )
    assert velocity.expression == "customer.nb_tx_1d > 5 and amount > 2 * customer.avg_amount_30d"


def test_anomaly_score_is_null_until_the_features_carry_it():
    schema = Schema.for_transaction([*FEATURE_NAMES, "anomaly_score"])
    rules = CompiledRuleSet(
        "1", [rule("odd", "anomaly_score > 3")], schema, VALUES, clock=NOW.timestamp
    )

    assert rules.evaluate(tx(), FEATURES, 0.1, {}).hits == ()
    assert hit_ids(rules.evaluate(tx(), {**FEATURES, "anomaly_score": 4.5}, 0.1, {})) == ["odd"]


@pytest.mark.parametrize(
    ("actions", "decision"),
    [
        (("allow", "block", "review"), "allow"),
        (("block", "review"), "block"),
        (("suspend", "review"), "block"),
        (("review", "alert"), "review"),
        (("alert",), "block"),  # the model decides (score 0.95), the alert only alerts
    ],
)
def test_precedence_allow_then_block_and_suspend_then_review_then_model(actions, decision):
    suspend = {"target": "customer_id", "duration": "1h"}
    rules = rule_set(
        [
            rule(
                f"r_{action}",
                "amount > 1",
                action,
                **({"suspend": suspend} if action == "suspend" else {}),
            )
            for action in actions
        ]
    )

    outcome = rules.evaluate(tx(), FEATURES, 0.95, {})
    result = decide(0.95, THRESHOLDS, outcome.hits)

    assert result.decision == decision
    assert result.reasons[0].to_dict()["rule_id"] == f"r_{actions[0]}"
    assert result.alert is (decision != "allow")


def test_higher_priority_ranks_first_within_an_action():
    rules = rule_set(
        [rule("low", "amount > 1", priority=10), rule("high", "amount > 1", priority=900)]
    )

    assert hit_ids(rules.evaluate(tx(), FEATURES, 0.1, {})) == ["high", "low"]


def test_shadow_rules_are_recorded_and_counted_but_never_decide():
    counted: list[str] = []
    rules = rule_set(
        [
            rule("shadow_block", "amount > 1", mode="shadow"),
            rule("active_review", "amount > 10", "review"),
            rule("off", "amount > 1", mode="disabled"),
        ],
        counted=counted,
    )

    outcome = rules.evaluate(tx(), FEATURES, 0.1, {})

    assert hit_ids(outcome) == ["active_review"]
    assert [h.rule_id for h in outcome.shadow] == ["shadow_block"]
    assert outcome.shadow[0].explanation == "amount (42.50) > 1"
    assert decide(0.1, THRESHOLDS, outcome.hits).decision == "review"
    assert counted == ["RuleHit_active_review", "ShadowRuleHit_shadow_block"]


def test_disabled_rules_are_neither_evaluated_nor_looked_up():
    rules = rule_set([rule("off", "customer_id in @watchlist", mode="disabled")])

    assert rules.list_lookups(tx()) == set()
    assert rules.evaluate(tx(), FEATURES, 0.1, {("watchlist", "C-1001"): {}}).hits == ()


def test_list_lookups_name_every_pair_and_hash_personal_values():
    rules = rule_set(
        [
            rule("watch", "customer_id in @watchlist", mode="shadow"),
            rule("mail", "lower(email) in @blocked_emails"),
            rule("ip", "ip_address in @tor_exits"),
        ]
    )

    lookups = rules.list_lookups(tx(email="Someone@Example.com"))

    assert lookups == {
        ("watchlist", "C-1001"),
        ("blocked_emails", VALUES.key("someone@example.com")),
        ("tor_exits", VALUES.key("192.0.2.10")),
    }
    assert all(key.startswith("hash:") for name, key in lookups if name != "watchlist")


def test_list_items_count_only_until_they_expire_even_before_ttl_deletes_them():
    rules = rule_set([rule("watch", "customer_id in @watchlist")])

    live = {("watchlist", "C-1001"): {"expires_at": LATER}}
    expired = {("watchlist", "C-1001"): {"expires_at": EARLIER}}
    forever = {("watchlist", "C-1001"): {"added_by": "ann"}}

    assert hit_ids(rules.evaluate(tx(), FEATURES, 0.1, live)) == ["watch"]
    assert rules.evaluate(tx(), FEATURES, 0.1, expired).hits == ()
    assert hit_ids(rules.evaluate(tx(), FEATURES, 0.1, forever)) == ["watch"]


SUSPEND = {"target": "customer_id", "duration": "2h"}


def test_suspend_rule_puts_the_customer_on_its_list_until_now_plus_duration():
    rules = rule_set([rule("burst", "customer.nb_tx_1d > 5", "suspend", suspend=SUSPEND)])

    outcome = rules.evaluate(tx(), FEATURES, 0.1, {})

    [put] = outcome.list_puts
    assert put.key == ("suspended_customers", "C-1001")
    assert put.item["expires_at"] == int(NOW.timestamp()) + 7200
    assert put.item["added_by"] == "rule:burst"
    assert put.item["transaction_id"] == "tx-0001" and put.item["rule_version"] == "7"
    assert outcome.hits[0].details["suspension"]["list"] == "suspended_customers"


def test_suspended_customer_is_blocked_by_the_built_in_list_rule_and_not_suspended_again():
    rules = rule_set(
        [rule("burst", "customer.nb_tx_1d > 5", "suspend", suspend=SUSPEND, mode="disabled")]
    )
    listed = {("suspended_customers", "C-1001"): {"expires_at": LATER}}

    outcome = rules.evaluate(tx(), FEATURES, 0.1, listed)

    assert hit_ids(outcome) == ["suspension:suspended_customers"]
    assert outcome.hits[0].priority > 1000
    assert outcome.list_puts == ()
    active = rule_set([rule("burst", "customer.nb_tx_1d > 5", "suspend", suspend=SUSPEND)])
    assert active.evaluate(tx(), FEATURES, 0.1, listed).list_puts == ()


def test_an_expired_suspension_is_renewed_by_the_next_firing():
    rules = rule_set([rule("burst", "customer.nb_tx_1d > 5", "suspend", suspend=SUSPEND)])
    expired = {("suspended_customers", "C-1001"): {"expires_at": EARLIER}}

    outcome = rules.evaluate(tx(), FEATURES, 0.1, expired)

    assert hit_ids(outcome) == ["burst"]
    assert len(outcome.list_puts) == 1


@pytest.mark.parametrize(
    ("rules", "payload"),
    [
        ([rule("s", "amount > 1", "suspend", suspend=SUSPEND, mode="shadow")], {}),
        (
            [
                rule("s", "amount > 1", "suspend", suspend=SUSPEND),
                rule("vip", "customer_id == 'C-1001'", "allow"),
            ],
            {},
        ),
        (
            [rule("s", "amount > 1", "suspend", suspend={"target": "device_id", "duration": "1d"})],
            {"device_id": None},
        ),
    ],
    ids=["shadow", "allowed", "no-device"],
)
def test_no_suspension_from_shadow_rules_allowed_transactions_or_absent_targets(rules, payload):
    assert rule_set(rules).evaluate(tx(**payload), FEATURES, 0.1, {}).list_puts == ()


def test_two_suspend_rules_on_one_list_write_one_item():
    rules = rule_set(
        [
            rule("a", "amount > 1", "suspend", suspend=SUSPEND),
            rule("b", "amount > 2", "suspend", suspend={**SUSPEND, "duration": "1d"}, priority=500),
        ]
    )

    outcome = rules.evaluate(tx(), FEATURES, 0.1, {})

    assert hit_ids(outcome) == ["b", "a"]
    [put] = outcome.list_puts
    assert put.item["rule_id"] == "b"


def test_explanations_redact_emails_and_ip_addresses_wherever_they_come_from():
    rules = rule_set(
        [
            rule("mail", "ends_with(lower(email), '@example.com')", "review"),
            rule("ip", "starts_with(ip_address, '192.0.')", "review"),
            rule("meta", "metadata.contact is not null", "review"),
        ]
    )
    payload = tx(metadata={"contact": "Other.Person@example.org"})

    outcome = rules.evaluate(payload, FEATURES, 0.1, {})
    shown = json.dumps([hit.to_dict() for hit in outcome.hits])

    assert len(outcome.hits) == 3
    assert "[redacted]" in shown
    for secret in ("someone@example.com", "192.0.2.10", "Other.Person@example.org"):
        assert secret not in shown


def test_a_rule_that_no_longer_compiles_is_refused_and_the_others_serve():
    rules = CompiledRuleSet(
        "3",
        [rule("old", "customer.nb_tx_1d > 5"), rule("big", "amount > 10")],
        Schema.for_transaction([]),
        VALUES,
    )

    assert set(rules.refused) == {"old"}
    assert hit_ids(rules.evaluate(tx(), FEATURES, 0.1, {})) == ["big"]


def test_a_feature_of_the_wrong_type_is_an_evaluation_error():
    rules = rule_set([rule("velocity", "customer.nb_tx_1d > 5")])

    with pytest.raises(RuleEvaluationError):
        rules.evaluate(tx(), {**FEATURES, "customer_nb_tx_1d": "seven"}, 0.1, {})


def test_rule_set_schema_is_the_online_features():
    assert SCHEMA.get("customer.avg_amount_30d") is not None
    assert SCHEMA.get("terminal.risk_30d") is not None
