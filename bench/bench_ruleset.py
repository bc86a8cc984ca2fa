"""Benchmark of the rule set on the scoring path: 100 rules against one transaction.

Run from the repository root::

    .venv/bin/python -m bench.bench_ruleset [--transactions N] [--seed S] [--json]

Measures ``CompiledRuleSet.list_lookups`` and ``CompiledRuleSet.evaluate`` as scoring calls
them: a parsed ``Transaction``, its 15 feature values under their pipeline names, the
model score, and list items prefetched as the store returns them (some expired); the
time includes building the context, evaluating the 100 rules of ``bench.bench_rules``
(active and shadow) and explaining the ones that fire. Target: a median of at most 100
microseconds.

The baseline, measured in the same run on the same transactions, is what the service
would do without compiling once: parse, check and compile every rule for every
transaction (a tree-walking interpreter of the same language, allocations included).
With ``--json`` the figures are printed as ``{"name", "value", "unit", "baseline",
"ratio"}`` records.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.bench_rules import (
    CHANNELS,
    COUNTRIES,
    DOMAINS,
    RULES_PER_SET,
    TARGET,
    TARGET_MEDIAN_US,
    arguments,
    rule_texts,
)
from bench.records import Figure, figure
from chalicelib.features.spec import feature_definitions
from chalicelib.identifiers import IdentifierHasher
from chalicelib.rules import Schema, compile_expression
from chalicelib.rules.definitions import Rule
from chalicelib.rules.lists import ListValues
from chalicelib.rules.ruleset import CompiledRuleSet
from chalicelib.transaction import Transaction, parse_transaction

FEATURE_NAMES = tuple(d.name for d in feature_definitions())
ACTIONS = ("review", "block", "alert", "review", "allow")
NOW = datetime(2025, 3, 20, tzinfo=UTC).timestamp()


def build_rules() -> list[Rule]:
    """The 100 rules of ``bench.bench_rules``, every fifth one in shadow mode (the feature
    ``amount_ratio_30d`` the service does not compute yet read as ``avg_amount_7d``)."""
    return [
        Rule(
            rule_id=f"r{number}",
            expression=text.replace("amount_ratio_30d", "avg_amount_7d"),
            action=ACTIONS[number % len(ACTIONS)],
            priority=number,
            mode="shadow" if number % 5 == 4 else "active",
        )
        for number, text in enumerate(rule_texts())
    ]


def build_case(rng: random.Random, index: int) -> tuple[Transaction, dict[str, float], float]:
    """One transaction, its features and score."""
    payload: dict[str, Any] = {
        "transaction_id": f"t-{index}",
        "timestamp": (
            datetime(2024, 5, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(10**5))
        ).isoformat(),
        "amount": round(rng.lognormvariate(4, 1.2) + 0.01, 2),
        "customer_id": f"c{rng.randrange(1000)}",
        "terminal_id": f"T{rng.randrange(100)}",
        "card_id": f"card{rng.randrange(5000)}",
        "channel": rng.choice(CHANNELS),
        "country": rng.choice(COUNTRIES),
        "email": f"user{rng.randrange(1000)}@{rng.choice(DOMAINS)}",
    }
    if rng.random() < 0.5:
        payload["metadata"] = {"attempts": rng.randrange(6)}
    tx = parse_transaction(payload, default_currency="EUR")
    features = {name: float(rng.randrange(40)) for name in FEATURE_NAMES if "nb_tx" in name}
    features.update(
        {name: round(rng.lognormvariate(4, 1), 2) for name in FEATURE_NAMES if "avg_amount" in name}
    )
    features.update({name: rng.random() / 2 for name in FEATURE_NAMES if "risk" in name})
    features.update(
        amount=tx.amount,
        is_weekend=float(tx.timestamp.weekday() >= 5),
        is_night=float(tx.timestamp.hour <= 6),
    )
    return tx, features, rng.random()


def list_items(values: ListValues) -> dict[tuple[str, str], dict[str, Any]]:
    """Stored items of both lists, a third of them expired."""
    items = {}
    for number in range(0, 1000, 7):
        expires = NOW - 60 if number % 3 == 0 else NOW + 3600
        items[("watchlist", values.key(f"c{number}"))] = {"expires_at": expires}
    for number in range(0, 5000, 11):
        items[("stolen_cards", values.key(f"card{number}"))] = {"added_by": "bench"}
    return items


def timed(run: Callable[..., Any], cases: list[tuple]) -> list[int]:
    """Nanoseconds of ``run(*case)`` for each case."""
    clock = time.perf_counter_ns
    timings = []
    for case in cases:
        start = clock()
        run(*case)
        timings.append(clock() - start)
    return timings


def reparsing(rules: list[Rule], schema: Schema, rule_set: CompiledRuleSet) -> Callable[..., None]:
    """The baseline: every rule parsed, checked and compiled again for each transaction."""

    def evaluate(tx: Transaction, features: dict, score: float, fetched: dict) -> None:
        context = rule_set.context(tx, features, score, fetched)
        for rule in rules:
            compile_expression(rule.expression, schema).evaluate(context)

    return evaluate


def measure(transactions: int, seed: int) -> dict[str, float]:
    """Run the benchmark; figures in microseconds."""
    rng = random.Random(seed)
    schema = Schema.for_transaction(FEATURE_NAMES)
    values = ListValues(IdentifierHasher(b"bench"))
    rules = build_rules()
    rule_set = CompiledRuleSet("bench", rules, schema, values, clock=lambda: NOW)
    stored = list_items(values)
    cases = [build_case(rng, index) for index in range(transactions)]
    lookups = timed(rule_set.list_lookups, [(tx,) for tx, _, _ in cases])
    prepared = [
        (tx, features, score, {k: stored[k] for k in rule_set.list_lookups(tx) if k in stored})
        for tx, features, score in cases
    ]
    hits = sum(len(o.hits) + len(o.shadow) for o in (rule_set.evaluate(*c) for c in prepared))
    evaluations = timed(rule_set.evaluate, prepared)
    reparsed = timed(reparsing(rules, schema, rule_set), prepared[: max(50, transactions // 20)])
    return {
        "median_us": statistics.median(evaluations) / 1000,
        "p99_us": sorted(evaluations)[int(len(evaluations) * 0.99)] / 1000,
        "lookups_median_us": statistics.median(lookups) / 1000,
        "reparse_median_us": statistics.median(reparsed) / 1000,
        "reparse_p99_us": sorted(reparsed)[int(len(reparsed) * 0.99)] / 1000,
        "hits_per_transaction": hits / transactions,
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0], seed=11)
    figures = measure(args.transactions, args.seed)
    print(f"{RULES_PER_SET} rules (80 active, 20 shadow), {args.transactions} transactions")
    print(
        f"evaluate: median {figures['median_us']:.1f} us, p99 {figures['p99_us']:.1f} us "
        f"(target: median <= {TARGET_MEDIAN_US:.0f} us); "
        f"{figures['hits_per_transaction']:.2f} rules fired per transaction"
    )
    print(f"list_lookups: median {figures['lookups_median_us']:.1f} us")
    print(
        f"baseline (parse + check + compile every rule per transaction): median "
        f"{figures['reparse_median_us']:.0f} us, p99 {figures['reparse_p99_us']:.0f} us"
    )
    if args.json:
        print(json.dumps(records(figures)))


def records(figures: dict[str, float]) -> list[Figure]:
    """``measure``'s figures as ``results.json`` records (microseconds); the baseline
    compiles every rule again per transaction."""
    return [
        figure(
            "ruleset_evaluate_100_median",
            figures["median_us"],
            "us",
            figures["reparse_median_us"],
            TARGET,
        ),
        figure("ruleset_evaluate_100_p99", figures["p99_us"], "us", figures["reparse_p99_us"]),
        figure("ruleset_list_lookups_median", figures["lookups_median_us"], "us", None),
    ]


if __name__ == "__main__":
    main()
