"""Benchmark of the rule language: 100 typical rules evaluated against one transaction.

Run from the repository root::

    .venv/bin/python -m bench.bench_rules [--transactions N] [--seed S] [--json]

Prints the median and 99th percentile of the time to evaluate all 100 rules against one
transaction (target: a median of at most 100 microseconds), plus the compile time per rule.
With ``--json`` it also prints the figures as ``{"name", "value", "unit", "baseline",
"ratio"}`` records (the baseline of the median is its target).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.records import Figure, Floor, figure
from chalicelib.rules import CompiledExpression, MappingContext, Schema, compile_expression

RULES_PER_SET = 100
TARGET_MEDIAN_US = 100.0
TARGET = Floor(TARGET_MEDIAN_US)
FEATURES = (
    "customer_nb_tx_1d",
    "customer_nb_tx_7d",
    "customer_avg_amount_30d",
    "customer_amount_ratio_30d",
    "terminal_risk_7d",
    "terminal_nb_tx_1d",
)
# Ten templates of the kinds analysts write; each used with ten different constants.
TEMPLATES = (
    "amount > {big}",
    "customer.nb_tx_1d > {count} and amount > {mid}",
    "customer.avg_amount_30d > 0 and amount / customer.avg_amount_30d > {ratio}",
    "country in ['FR', 'DE', 'ES', 'IT', 'NL'] and amount > {mid}",
    "customer_id in @watchlist and amount > {small}",
    "ends_with(lower(email), '@{domain}') and amount >= {mid}",
    "terminal.risk_7d > {share} or score > 0.{digit}5",
    "risk_score >= {percent} and channel == 'ecom' and not (country in ['FR', 'BE'])",
    "hour(timestamp) < {hour} and amount * 2 > customer.avg_amount_30d + {small}",
    "coalesce(metadata.attempts, 0) > {count} or card_id in @stolen_cards",
)
DOMAINS = ("example.com", "mail.test", "fraud.io", "temp.mail", "spam.org")
CHANNELS = ("ecom", "pos", "moto")
COUNTRIES = ("FR", "DE", "ES", "IT", "NL", "BE", "US", "GB")


def rule_texts() -> list[str]:
    """The expressions of the 100 rules: each template with ten sets of constants."""
    texts: list[str] = []
    for variant in range(RULES_PER_SET // len(TEMPLATES)):
        constants = {
            "big": 1000 + 250 * variant,
            "mid": 200 + 50 * variant,
            "small": 10 * variant,
            "count": 2 + variant,
            "ratio": 2 + variant / 4,
            "domain": DOMAINS[variant % len(DOMAINS)],
            "share": variant / 10,
            "digit": variant,
            "percent": 50 + 5 * variant,
            "hour": 1 + variant % 6,
        }
        texts.extend(template.format(**constants) for template in TEMPLATES)
    return texts


def build_rules(schema: Schema) -> list[CompiledExpression]:
    """The 100 rules of the benchmark, compiled."""
    return [compile_expression(text, schema) for text in rule_texts()]


def build_context(rng: random.Random, lists: dict[str, set[str]]) -> MappingContext:
    """One random transaction with its features and scores."""
    score = rng.random()
    values: dict[str, Any] = {
        "transaction_id": f"t-{rng.randrange(10**9)}",
        "timestamp": datetime(2024, 5, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(10**5)),
        "amount": round(rng.lognormvariate(4, 1.2), 2),
        "currency": "EUR",
        "customer_id": f"c{rng.randrange(1000)}",
        "terminal_id": f"T{rng.randrange(100)}",
        "card_id": f"card{rng.randrange(5000)}",
        "channel": rng.choice(CHANNELS),
        "country": rng.choice(COUNTRIES),
        "email": f"User{rng.randrange(1000)}@{rng.choice(DOMAINS)}",
        "customer.nb_tx_1d": rng.randrange(10),
        "customer.nb_tx_7d": rng.randrange(40),
        "customer.avg_amount_30d": round(rng.lognormvariate(4, 1), 2),
        "customer.amount_ratio_30d": rng.random() * 3,
        "terminal.risk_7d": rng.random() / 2,
        "terminal.nb_tx_1d": rng.randrange(200),
        "score": score,
        "risk_score": round(score * 100),
        "anomaly_score": rng.gauss(0, 1),
    }
    if rng.random() < 0.5:
        values["metadata.attempts"] = rng.randrange(6)
    return MappingContext(values, lists)


def measure(transactions: int, seed: int) -> dict[str, float]:
    """Run the benchmark; figures in microseconds."""
    rng = random.Random(seed)
    schema = Schema.for_transaction(FEATURES)
    started = time.perf_counter()
    rules = build_rules(schema)
    compile_us = (time.perf_counter() - started) / len(rules) * 1e6
    lists = {
        "watchlist": {f"c{i}" for i in range(0, 1000, 7)},
        "stolen_cards": {f"card{i}" for i in range(0, 5000, 11)},
    }
    contexts = [build_context(rng, lists) for _ in range(transactions)]
    evaluators = [rule.evaluate for rule in rules]
    timings = []
    fired = 0
    clock = time.perf_counter_ns
    for context in contexts:
        start = clock()
        results = [evaluate(context) for evaluate in evaluators]
        timings.append(clock() - start)
        fired += results.count(True)
    timings.sort()
    return {
        "median_us": statistics.median(timings) / 1000,
        "p99_us": timings[int(len(timings) * 0.99)] / 1000,
        "compile_us_per_rule": compile_us,
        "fired_per_transaction": fired / transactions,
    }


def arguments(description: str, seed: int) -> argparse.Namespace:
    """``--transactions``, ``--seed`` and ``--json``, the options of the rule benchmarks."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--transactions", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--json", action="store_true", help="also print JSON records")
    return parser.parse_args()


def main() -> None:
    args = arguments(__doc__.splitlines()[0], seed=7)
    figures = measure(args.transactions, args.seed)
    print(f"rules per transaction: {RULES_PER_SET}, transactions: {args.transactions}")
    print(
        f"evaluation of {RULES_PER_SET} rules: median {figures['median_us']:.1f} us, "
        f"p99 {figures['p99_us']:.1f} us"
    )
    print(
        f"compile: {figures['compile_us_per_rule']:.0f} us per rule; "
        f"rules fired per transaction: {figures['fired_per_transaction']:.2f}"
    )
    if args.json:
        print(json.dumps(records(figures)))


def records(figures: dict[str, float]) -> list[Figure]:
    """``measure``'s figures as ``results.json`` records (microseconds; the median's floor
    is the target, the benchmark has no baseline: ``bench.bench_ruleset`` has one)."""
    return [
        figure("rules_eval_100_median", figures["median_us"], "us", None, TARGET),
        figure("rules_eval_100_p99", figures["p99_us"], "us", None),
        figure("rules_compile_per_rule", figures["compile_us_per_rule"], "us", None),
    ]


if __name__ == "__main__":
    main()
