"""rules/default.json: the classic checks, valid against today's features, risky ones in
shadow, and firing where they should."""

from __future__ import annotations

import re

import pytest

from chalicelib.decisions import decide
from chalicelib.model.artifact import Thresholds
from chalicelib.rules.definitions import parse_rule
from chalicelib.rules.memory import MemoryRuleStore
from chalicelib.rules.service import RulesService
from fraudctl.rulefiles import DEFAULT_PACK, read_rules_file
from tests.rules_support import FEATURE_NAMES, SCHEMA, rule_set, tx

PACK = read_rules_file(DEFAULT_PACK)["rules"]
RULES = {body["rule_id"]: parse_rule(body, SCHEMA) for body in PACK}
QUIET = {name: 0.0 for name in FEATURE_NAMES} | {
    "customer_nb_tx_1d": 1.0,
    "customer_nb_tx_30d": 20.0,
    "customer_avg_amount_1d": 40.0,
    "customer_avg_amount_30d": 40.0,
}


def fired(payload: dict, features: dict, lists: dict | None = None) -> list[str]:
    outcome = rule_set(list(RULES.values())).evaluate(
        tx(**payload), QUIET | features, 0.05, lists or {}
    )
    return sorted(hit.rule_id for hit in (*outcome.hits, *outcome.shadow))


def test_pack_loads_as_one_version_against_the_online_features():
    [version] = RulesService(MemoryRuleStore(), SCHEMA).import_rules({"rules": PACK}, "make run")

    assert len(version.revisions) == len(PACK) >= 10


def test_suspensions_and_proxies_start_in_shadow():
    shadow = {rid for rid, rule in RULES.items() if rule.mode == "shadow"}

    assert {rid for rid, rule in RULES.items() if rule.action == "suspend"} <= shadow
    assert {"very_high_amount", "foreign_country_at_night", "new_device_online"} <= shadow


@pytest.mark.parametrize(
    ("payload", "features", "expected"),
    [
        ({"amount": 42.5}, {}, []),
        ({"amount": 2500.0}, {"customer_avg_amount_30d": 2000.0}, ["high_amount"]),
        ({"amount": 400.0}, {"customer_avg_amount_30d": 60.0}, ["amount_far_above_usual"]),
        (
            {"amount": 600.0},
            {"customer_nb_tx_30d": 1.0, "customer_avg_amount_30d": 600.0},
            ["new_customer_high_amount"],
        ),
        ({"amount": 30.0}, {"customer_nb_tx_1d": 25.0}, ["customer_velocity"]),
        (
            {"amount": 200.0},
            {
                "customer_nb_tx_1d": 5.0,
                "customer_avg_amount_1d": 200.0,
                "customer_avg_amount_30d": 60.0,
            },
            ["daily_spend_spike"],
        ),
        (
            {"amount": 1.5, "channel": "ecom"},
            {"customer_nb_tx_1d": 7.0, "customer_avg_amount_1d": 2.0},
            ["card_testing", "card_testing_suspend"],
        ),
        (
            {"amount": 80.0, "country": "TH", "timestamp": "2025-03-14T02:00:00"},
            {"is_night": 1.0},
            ["foreign_country_at_night"],
        ),
        (
            {"amount": 300.0, "channel": "ecom", "device_id": None},
            {"customer_avg_amount_30d": 300.0},
            ["new_device_online"],
        ),
        (
            {"amount": 30.0},
            {"terminal_risk_7d": 0.4, "terminal_nb_tx_7d": 12.0},
            ["risky_terminal"],
        ),
    ],
    ids=lambda value: "" if not isinstance(value, list) else "-".join(value) or "quiet",
)
def test_each_classic_check_fires_on_its_pattern(payload, features, expected):
    assert fired(payload, features) == expected


def test_allow_list_overrides_block_list_and_checks():
    lists = {
        ("allowed_customers", "C-1001"): {},
        ("blocked_cards", "card_1001_1"): {},
    }

    outcome = rule_set(list(RULES.values())).evaluate(tx(amount=2500.0), QUIET, 0.05, lists)
    decision = decide(0.05, Thresholds(0.5, 0.9), outcome.hits)

    assert [h.rule_id for h in outcome.hits][:2] == [
        "allow_listed_customer",
        "block_listed_identity",
    ]
    assert decision.decision == "allow"


def test_the_documentation_lists_the_pack_as_it_is():
    doc = (DEFAULT_PACK.parents[1] / "docs" / "rules.md").read_text(encoding="utf-8")
    table = doc[doc.index("## The default rule pack") :]
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| (\w+) \| `(.+)` \|$", table, flags=re.MULTILINE)

    assert {rid: (mode, text) for rid, mode, text in rows} == {
        rid: (rule.mode, rule.expression) for rid, rule in RULES.items()
    }
